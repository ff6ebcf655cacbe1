// Package router is alertrouter's HTTP face and its delivery engine: it decodes and
// validates Alertmanager webhooks, routes each alert by its host group, takes the dedupe
// decision, commits notifications to the outbox, and drains the outbox into receivers
// with retries and rate limits.
package router

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/store"
	"github.com/alertrouter/alertrouter/watchdog"
)

// janitorInterval is how often old rows are pruned and abandoned ones expired.
const janitorInterval = time.Minute

// Options are a Server's dependencies.
type Options struct {
	Store  *store.Store
	Logger *slog.Logger
	// Registerer gets alertrouter's metrics; Gatherer serves /metrics.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// Stdout is where the log receiver writes; os.Stdout when nil.
	Stdout io.Writer
	// ConfigFile is re-read on reload; empty means the embedded default config.
	ConfigFile string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Server routes webhooks into the outbox and delivers them.
type Server struct {
	store      *store.Store
	logger     *slog.Logger
	gatherer   prometheus.Gatherer
	metrics    *metrics
	stdout     io.Writer
	configFile string
	now        func() time.Time

	runtime    atomic.Pointer[runtime]
	reloadMu   sync.Mutex
	dispatcher *dispatcher
	// watchdog always exists and idles while the config has no watchdog section, so
	// that a reload can add or remove one.
	watchdog *watchdog.Watchdog
}

// New builds a server for a validated config.
func New(cfg *config.Config, o Options) (*Server, error) {
	s := &Server{
		store:      o.Store,
		logger:     o.Logger,
		gatherer:   o.Gatherer,
		stdout:     o.Stdout,
		configFile: o.ConfigFile,
		now:        o.Now,
	}
	if s.stdout == nil {
		s.stdout = os.Stdout
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.gatherer == nil {
		s.gatherer = prometheus.NewRegistry()
	}
	rt, err := newRuntime(cfg, s.stdout)
	if err != nil {
		return nil, err
	}
	s.runtime.Store(rt)
	s.metrics = newMetrics(o.Registerer)
	o.Registerer.MustRegister(newOutboxCollector(s.store, s.logger, s.receiverNames))
	s.metrics.reloadSuccess.Set(1)
	s.metrics.reloadSuccessTime.SetToCurrentTime()
	s.dispatcher = newDispatcher(s)
	s.watchdog = watchdog.New(cfg.Watchdog, watchdog.Options{
		Store: s.store, Logger: s.logger.With("component", "watchdog"), Registerer: o.Registerer, Now: s.now,
		Wake: s.wake,
	})
	return s, nil
}

// wake starts delivery to receivers that have new notifications.
func (s *Server) wake(receivers []string) {
	counts := make(map[string]int, len(receivers))
	for _, r := range receivers {
		counts[r]++
	}
	s.dispatcher.notify(counts)
}

func (s *Server) receiverNames() []string {
	rt := s.runtime.Load()
	names := make([]string, 0, len(rt.receivers))
	for n := range rt.receivers {
		names = append(names, n)
	}
	return names
}

// Reload re-reads the config file. An invalid config is rejected and the running one
// keeps serving.
func (s *Server) Reload() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	err := s.reload()
	if err != nil {
		s.metrics.reloadSuccess.Set(0)
		s.logger.Error("Config reload failed, keeping the running config", "file", s.configFile, "err", err)
		return err
	}
	s.metrics.reloadSuccess.Set(1)
	s.metrics.reloadSuccessTime.SetToCurrentTime()
	s.logger.Info("Config reloaded", "file", s.configFile)
	return nil
}

func (s *Server) reload() error {
	cfg, err := config.LoadFileOrDefault(s.configFile)
	if err != nil {
		return err
	}
	rt, err := newRuntime(cfg, s.stdout)
	if err != nil {
		return err
	}
	s.runtime.Store(rt)
	s.dispatcher.sync(rt)
	s.watchdog.SetConfig(cfg.Watchdog)
	return nil
}

// Run delivers the outbox, keeps the store tidy and runs the watchdog until ctx is
// done, then waits for in-flight delivery attempts (each bounded by its timeout) and
// the watchdog's tick before it returns.
func (s *Server) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.dispatcher.run(ctx) })
	wg.Go(func() { s.janitor(ctx) })
	wg.Go(func() { s.watchdog.Run(ctx) })
	wg.Wait()
}

func (s *Server) janitor(ctx context.Context) {
	t := time.NewTicker(janitorInterval)
	defer t.Stop()
	for {
		s.tidy(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// tidy prunes history past retention and expires pending notifications that nobody
// will deliver any more: their receiver was removed from the config. Configured
// receivers try each of their rows once more before giving up, even after a long
// downtime of the router.
func (s *Server) tidy(ctx context.Context) {
	rt := s.runtime.Load()
	now := s.now()
	cutoff := now.Add(-rt.cfg.Global.MaxRetryAge.Std())
	reason := fmt.Sprintf("gave up after max_retry_age (%s): receiver is not configured", rt.cfg.Global.MaxRetryAge)
	expired, err := s.store.Expire(ctx, s.receiverNames(), cutoff, reason, now)
	if err != nil && ctx.Err() == nil {
		s.logger.Error("Cannot expire old notifications", "err", err)
	}
	for _, e := range expired {
		s.metrics.dead.WithLabelValues(e.Receiver).Inc()
		s.logger.Error("Notification is dead, giving up: its receiver is not configured", "receiver", e.Receiver, "notification", e.ID)
	}
	n, c, err := s.store.Prune(ctx, now.Add(-rt.cfg.Global.Retention.Std()))
	if err != nil && ctx.Err() == nil {
		s.logger.Error("Cannot prune old rows", "err", err)
	}
	if n+c > 0 {
		s.logger.Info("Pruned rows past retention", "notifications", n, "claims", c)
	}
}
