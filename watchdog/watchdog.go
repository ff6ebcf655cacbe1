// Package watchdog proves that Prometheus and the alert pipeline are alive: it probes
// Prometheus and Alertmanager on a schedule (robfig/cron, in-process), tells a crash
// from a restart by their start times, escalates an outage from info to warning to
// critical, and raises an alarm when the always-firing Watchdog heartbeat stops. Its
// memory lives in the store and its events go through the outbox, in one transaction,
// so a restart of alertrouter neither repeats an event nor misses one.
package watchdog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/dispatch"
	"github.com/alertrouter/alertrouter/store"
)

// Options are a Watchdog's dependencies.
type Options struct {
	Store      *store.Store
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Client probes the targets; a client without redirects when nil.
	Client *http.Client
	// Wake is told which receivers have new notifications, so that delivery starts
	// at once; may be nil.
	Wake func(receivers []string)
	// Leader says whether this replica runs the watchdog (replicated mode: one replica
	// at a time, or every event would page once per replica); always when nil.
	Leader func() bool
}

// Watchdog probes its targets and watches the heartbeat.
type Watchdog struct {
	cfg        atomic.Pointer[config.Watchdog]
	reschedule chan struct{}
	store      *store.Store
	logger     *slog.Logger
	now        func() time.Time
	client     *http.Client
	wake       func([]string)
	leader     func() bool
	metrics    *metrics
	// started is when this process began watching.
	started time.Time
	// clients probe the targets named after the config's alertmanagers, by name.
	clientsMu sync.Mutex
	clients   map[string]amClient
	// tickMu keeps ticks from overlapping: a scheduled tick and a test's Tick, or a
	// slow tick and the next.
	tickMu sync.Mutex
}

// ErrNotConfigured is Status's answer when the config has no watchdog section.
var ErrNotConfigured = errors.New("the watchdog is not configured: add a watchdog section to the config")

// New builds a watchdog for a validated config; cfg may be nil (no watchdog section),
// and then the watchdog idles until a reload brings one.
func New(cfg *config.Watchdog, o Options) *Watchdog {
	w := &Watchdog{
		reschedule: make(chan struct{}, 1),
		store:      o.Store,
		logger:     o.Logger,
		now:        o.Now,
		client:     o.Client,
		wake:       o.Wake,
		leader:     o.Leader,
		clients:    map[string]amClient{},
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.client == nil {
		w.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if w.wake == nil {
		w.wake = func([]string) {}
	}
	if w.leader == nil {
		w.leader = func() bool { return true }
	}
	w.started = w.now()
	w.cfg.Store(cfg)
	w.metrics = newMetrics(o.Registerer, w)
	return w
}

// SetConfig replaces the config, as a reload does; a new interval is rescheduled. A
// nil config stops the probes.
func (w *Watchdog) SetConfig(cfg *config.Watchdog) {
	w.cfg.Store(cfg)
	select {
	case w.reschedule <- struct{}{}:
	default:
	}
}

// Run probes now and then every interval until ctx is done.
func (w *Watchdog) Run(ctx context.Context) {
	logger := cronLogger{w.logger}
	c := cron.New(cron.WithChain(cron.Recover(logger), cron.SkipIfStillRunning(logger)))
	job := cron.FuncJob(func() {
		if !w.leader() {
			return // another replica watches; its state in the store is ours when we lead
		}
		if err := w.Tick(ctx); err != nil && ctx.Err() == nil {
			w.logger.Error("Watchdog tick failed; it is tried again at the next interval", "err", err)
		}
	})
	interval := func() time.Duration {
		if cfg := w.cfg.Load(); cfg != nil {
			return cfg.Interval.Std()
		}
		return config.DefaultWatchdogInterval.Std()
	}
	scheduled := interval()
	id := c.Schedule(cron.Every(scheduled), job)
	c.Start()
	// @every first fires one interval after the start: probe at once too, under the
	// same protections, and wait for it on the way out.
	first := make(chan struct{})
	go func() {
		defer close(first)
		cron.Recover(logger)(job).Run()
	}()
	for {
		select {
		case <-ctx.Done():
			<-c.Stop().Done()
			<-first
			return
		case <-w.reschedule:
			// Only a new interval reschedules: rescheduling restarts the wait, and
			// reloads more frequent than the interval would stop the probes.
			if next := interval(); next != scheduled {
				c.Remove(id)
				scheduled = next
				id = c.Schedule(cron.Every(scheduled), job)
			}
		}
	}
}

// Tick probes every target once, checks the heartbeats, and commits the new state
// with the events it implies in one transaction.
func (w *Watchdog) Tick(ctx context.Context) error {
	w.tickMu.Lock()
	defer w.tickMu.Unlock()
	cfg := w.cfg.Load()
	if cfg == nil {
		return nil
	}
	stored, err := w.store.WatchdogStates(ctx)
	if err != nil {
		return err
	}
	results := w.probeAll(ctx, cfg)
	now := w.now()

	type update struct {
		key   string
		state any
	}
	var updates []update
	var events []Event
	for _, t := range targets(cfg) {
		st, err := t.state(stored, now)
		if err != nil {
			return err
		}
		events = append(events, st.observe(cfg, t.URL, results[t.key()], now)...)
		updates = append(updates, update{t.key(), &st})
		w.metrics.observeTarget(t.kind, t.Name, st.State == stateUp)
	}
	if cfg.Heartbeat != nil {
		hbUpdates, hbEvents, err := w.checkHeartbeats(ctx, cfg.Heartbeat, stored, now)
		if err != nil {
			return err
		}
		for key, st := range hbUpdates {
			updates = append(updates, update{key, st})
		}
		events = append(events, hbEvents...)
	}

	err = w.store.Update(ctx, func(tx *store.Tx) error {
		for _, u := range updates {
			raw, err := json.Marshal(u.state)
			if err != nil {
				return err
			}
			if err := tx.PutWatchdogState(u.key, raw, now); err != nil {
				return err
			}
		}
		for _, e := range events {
			for _, receiver := range cfg.Receivers {
				if _, err := dispatch.Enqueue(tx, e.notification(receiver), now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, e := range events {
		w.metrics.events.WithLabelValues(e.Kind, e.Level).Inc()
		w.logger.Warn("Watchdog event", "event", e.Kind, "level", e.Level, "target", e.Target, "summary", e.Summary)
	}
	if len(events) > 0 {
		w.wake(cfg.Receivers)
	}
	return nil
}

// target is one configured Prometheus or Alertmanager.
type target struct {
	config.Target
	kind string
}

// amClient is a client made for one entry of alertmanagers.
type amClient struct {
	am     *config.Alertmanager
	client *http.Client
}

func (t target) key() string { return t.kind + "/" + t.Name }

// state is the target's stored state, or a new unknown one since now.
func (t target) state(stored map[string][]byte, now time.Time) (targetState, error) {
	st := targetState{Kind: t.kind, Name: t.Name, State: stateUnknown, Since: now}
	return st, loadState(stored, t.key(), &st)
}

// loadState fills st from the document stored under key, when there is one.
func loadState(stored map[string][]byte, key string, st any) error {
	raw, ok := stored[key]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, st); err != nil {
		return fmt.Errorf("watchdog state %s: %w", key, err)
	}
	return nil
}

func targets(cfg *config.Watchdog) []target {
	var out []target
	for _, t := range cfg.Prometheus {
		out = append(out, target{t, KindPrometheus})
	}
	for _, t := range cfg.Alertmanager {
		out = append(out, target{t, KindAlertmanager})
	}
	return out
}

// probeAll probes every target at once, so one that hangs until its timeout does not
// delay the others.
func (w *Watchdog) probeAll(ctx context.Context, cfg *config.Watchdog) map[string]probeResult {
	var mu sync.Mutex
	var wg sync.WaitGroup
	results := map[string]probeResult{}
	for _, t := range targets(cfg) {
		p := &prober{client: w.client, timeout: cfg.ProbeTimeout()}
		if am := t.Alertmanager; am != nil {
			client, err := w.clientOf(am, cfg.ProbeTimeout())
			if err != nil {
				mu.Lock()
				results[t.key()] = probeResult{err: fmt.Errorf("alertmanagers %s: %w", am.Name, err)}
				mu.Unlock()
				continue
			}
			p.client, p.authorize = client, am.Credentials.Authorize
		}
		wg.Go(func() {
			r := p.probe(ctx, t.kind, t.URL)
			mu.Lock()
			results[t.key()] = r
			mu.Unlock()
		})
	}
	wg.Wait()
	return results
}

// clientOf is the client for probing am, an entry of the config's alertmanagers: with
// its proxy and TLS settings, made once for each config (a reload makes new entries).
func (w *Watchdog) clientOf(am *config.Alertmanager, timeout time.Duration) (*http.Client, error) {
	w.clientsMu.Lock()
	defer w.clientsMu.Unlock()
	if c, ok := w.clients[am.Name]; ok {
		if c.am == am {
			return c.client, nil
		}
		c.client.CloseIdleConnections()
	}
	client, err := am.HTTPClientConfig.NewClient(timeout)
	if err != nil {
		return nil, err
	}
	w.clients[am.Name] = amClient{am: am, client: client}
	return client, nil
}

const heartbeatKeyPrefix = "heartbeat/"

// checkHeartbeats observes every source's silence, and a switch for "no heartbeat has
// ever arrived", which would otherwise go unnoticed when the heartbeat was never set up.
func (w *Watchdog) checkHeartbeats(ctx context.Context, cfg *config.Heartbeat, stored map[string][]byte, now time.Time) (map[string]*heartbeatState, []Event, error) {
	seen, err := w.store.Heartbeats(ctx)
	if err != nil {
		return nil, nil, err
	}
	load := func(source string, since time.Time) (*heartbeatState, error) {
		st := &heartbeatState{Source: source, Since: since}
		return st, loadState(stored, heartbeatKeyPrefix+source, st)
	}
	updates := map[string]*heartbeatState{}
	var events []Event
	var latest time.Time
	sources := make([]string, 0, len(seen))
	for source := range seen {
		sources = append(sources, source)
	}
	slices.Sort(sources)
	for _, source := range sources {
		lastSeen := seen[source]
		if lastSeen.After(latest) {
			latest = lastSeen
		}
		st, err := load(source, lastSeen)
		if err != nil {
			return nil, nil, err
		}
		events = append(events, st.observe(cfg, lastSeen, w.started, now)...)
		updates[heartbeatKeyPrefix+source] = st
	}
	never, err := load(neverSeenSource, now)
	if err != nil {
		return nil, nil, err
	}
	// Once any heartbeat arrived, the per-source switches take over.
	if latest.IsZero() || never.Missing {
		events = append(events, never.observe(cfg, latest, w.started, now)...)
	}
	updates[heartbeatKeyPrefix+neverSeenSource] = never
	return updates, events, nil
}

// cronLogger hands cron's logs to slog.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}
