// Package router is alertrouter's intake and HTTP face: it decodes and validates
// Alertmanager webhooks, routes each alert by its host group, takes the dedupe decision
// and commits notifications to the outbox, then wakes the dispatcher (package dispatch),
// which delivers them. Server puts intake, dispatcher and watchdog together behind one
// config, reloaded as one.
package router

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/dispatch"
	"github.com/alertrouter/alertrouter/router/auth"
	"github.com/alertrouter/alertrouter/router/console"
	"github.com/alertrouter/alertrouter/silences"
	"github.com/alertrouter/alertrouter/store"
	"github.com/alertrouter/alertrouter/watchdog"
)

// Options are a Server's dependencies.
type Options struct {
	Store  *store.Store
	Logger *slog.Logger
	// Registerer gets alertrouter's metrics; Gatherer serves /metrics.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// Stdout is where log receivers write; os.Stdout when nil.
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
	configFile string
	now        func() time.Time

	runtime  atomic.Pointer[runtime]
	reloadMu sync.Mutex
	// auth checks the console's and the API's credentials; pages renders the console.
	auth       *auth.Authenticator
	pages      *console.Renderer
	dispatcher *dispatch.Dispatcher
	// commits runs the webhooks' accept transactions, several at once under load.
	commits *committer
	// watchdog always exists and idles while the config has no watchdog section, so
	// that a reload can add or remove one.
	watchdog *watchdog.Watchdog
	// silencer keeps the silences on the Alertmanagers (none while there are none).
	silencer *silences.Silencer
	// links is the key that signs the action links of messages.
	links linkKey
	// reloaded tells the button listeners that the config changed.
	reloaded chan struct{}
}

// New builds a server for a validated config.
func New(cfg *config.Config, o Options) (*Server, error) {
	s := &Server{
		store:      o.Store,
		logger:     o.Logger,
		gatherer:   o.Gatherer,
		configFile: o.ConfigFile,
		now:        o.Now,
		reloaded:   make(chan struct{}, 1),
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.commits = newCommitter(s.store)
	if s.gatherer == nil {
		s.gatherer = prometheus.NewRegistry()
	}
	s.runtime.Store(newRuntime(cfg))
	s.metrics = newMetrics(o.Registerer)
	s.auth = auth.New(s.store, o.Registerer, s.now)
	pages, err := console.New()
	if err != nil {
		return nil, err
	}
	s.pages = pages
	s.metrics.reloadSuccess.Set(1)
	s.metrics.reloadSuccessTime.SetToCurrentTime()
	s.dispatcher = dispatch.New(cfg, dispatch.Options{
		Store: s.store, Logger: s.logger, Registerer: o.Registerer, Now: s.now, Stdout: o.Stdout, Links: s.actionLinks,
	})
	s.watchdog = watchdog.New(cfg.Watchdog, watchdog.Options{
		Store: s.store, Logger: s.logger.With("component", "watchdog"), Registerer: o.Registerer, Now: s.now,
		Wake: s.dispatcher.Notify, Leader: s.dispatcher.Leader,
	})
	s.silencer = silences.New(silences.Options{Store: s.store, Logger: s.logger.With("component", "silences"),
		Registerer: o.Registerer, Now: s.now, Leader: s.dispatcher.Leader, Notify: s.dispatcher.Notify})
	s.silencer.SetConfig(cfg, s.routeNotice)
	return s, nil
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
	s.dispatcher.SetConfig(cfg)
	s.runtime.Store(newRuntime(cfg))
	s.watchdog.SetConfig(cfg.Watchdog)
	s.silencer.SetConfig(cfg, s.routeNotice)
	select {
	case s.reloaded <- struct{}{}:
	default:
	}
	return nil
}

// routeNotice is where the notice that a silence ended goes: the receivers that alerts
// with its equality matchers as labels are routed to, and their host group.
func (s *Server) routeNotice(ls model.LabelSet) ([]string, string) {
	rt := s.runtime.Load()
	var names []string
	for _, t := range rt.routes.Route(ls).Targets {
		if !slices.Contains(names, t.Receiver) {
			names = append(names, t.Receiver)
		}
	}
	return names, rt.routes.Hostgroup(ls)
}

// Run delivers the outbox, runs the watchdog, keeps the silences and takes the presses of
// buttons until ctx is done, then waits for delivery attempts in flight (each bounded by
// its timeout) and the watchdog's tick.
func (s *Server) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.dispatcher.Run(ctx) })
	wg.Go(func() { s.watchdog.Run(ctx) })
	wg.Go(func() { s.compareConfigs(ctx) })
	wg.Go(func() { s.silencer.Run(ctx) })
	wg.Go(func() { s.listenForButtons(ctx) })
	wg.Wait()
}

// configCompareInterval is how often a replica reports its config and compares it.
const configCompareInterval = 15 * time.Second

// compareConfigs tells, in replicated mode, when the live replicas run different configs:
// they would route and dedupe differently. It logs each change and keeps
// alertrouter_replica_configs.
func (s *Server) compareConfigs(ctx context.Context) {
	s.metrics.replicaConfigs.Set(1)
	if !s.store.Replicated() {
		return
	}
	t := time.NewTicker(configCompareInterval)
	defer t.Stop()
	last := ""
	for {
		hash := s.runtime.Load().configHash
		others, err := s.store.ReportConfig(ctx, hash)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				s.logger.Warn("Cannot compare this replica's config with the others'", "err", err)
			}
		default:
			s.metrics.replicaConfigs.Set(float64(1 + len(others)))
			if now := strings.Join(others, ","); now != last {
				if len(others) > 0 {
					s.logger.Warn("Replicas run different configs: they route and dedupe differently; deploy one config to all",
						"this_config", hash, "other_configs", others)
				} else if last != "" {
					s.logger.Info("Replicas run one config again", "config", hash)
				}
				last = now
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
