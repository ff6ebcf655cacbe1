package silences

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/dispatch"
	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/store"
)

// Route and host group of the notices that a silence ended, in the history.
const (
	Route     = "silences"
	Hostgroup = "silences"
)

// Timing of the Silencer.
const (
	// tick is how often it looks for due copies and ended silences; Wake makes it look at once.
	tick = 5 * time.Second
	// checkEvery is how often an Alertmanager is asked whether it still has an active
	// silence: one that restarted without its storage has lost them.
	checkEvery = time.Minute
	// maxBackoff bounds the wait between attempts at an Alertmanager that fails.
	maxBackoff = 30 * time.Second
)

// Router says which receivers the alerts with these labels go to (router.Routes).
type Router func(model.LabelSet) (receivers []string, hostgroup string)

// Silencer keeps every silence on every configured Alertmanager, and sends the notice
// when one ends. It acts on the leader only (in replicated mode, one replica).
type Silencer struct {
	store  *store.Store
	logger *slog.Logger
	now    func() time.Time
	leader func() bool
	notify func(receivers []string)
	wake   chan struct{}
	// syncing makes one Sync at a time: two would both find a copy due, and make it twice.
	syncing sync.Mutex

	metrics *metrics

	mu      sync.Mutex
	clients map[string]*Client
	// configured are the names of the config's alertmanagers, with a client or not.
	configured []string
	route      Router
}

// Options are a Silencer's dependencies.
type Options struct {
	Store  *store.Store
	Logger *slog.Logger
	// Registerer gets the silencer's metrics.
	Registerer prometheus.Registerer
	Now        func() time.Time
	// Leader says whether this replica syncs (one replica at a time).
	Leader func() bool
	// Notify is told which receivers have new notices, so that delivery starts at once.
	Notify func(receivers []string)
}

// New makes a silencer; SetConfig gives it its Alertmanagers and routes.
func New(o Options) *Silencer {
	s := &Silencer{store: o.Store, logger: o.Logger, now: o.Now, leader: o.Leader, notify: o.Notify,
		wake: make(chan struct{}, 1), clients: map[string]*Client{}}
	s.metrics = newMetrics(o.Registerer, s)
	return s
}

// notConfigured is the problem of a copy on an Alertmanager the silencer has no client for.
const notConfigured = "not in the config's alertmanagers, or its TLS files cannot be read (see the log)"

// SetConfig takes the Alertmanagers of cfg, and route, the config's routing. A client
// that cannot be built (its TLS files) is logged, and its copies wait.
func (s *Silencer) SetConfig(cfg *config.Config, route Router) {
	clients := map[string]*Client{}
	names := make([]string, len(cfg.Alertmanagers))
	for i, am := range cfg.Alertmanagers {
		names[i] = am.Name
		c, err := NewClient(am)
		if err != nil {
			s.logger.Error("Cannot reach an Alertmanager for silences", "alertmanager", am.Name, "err", err)
			continue
		}
		clients[am.Name] = c
	}
	s.mu.Lock()
	s.clients, s.configured, s.route = clients, names, route
	s.mu.Unlock()
	s.Wake()
}

// configuredAlertmanagers are the names of alertmanagers in the config, those without a
// client (their TLS files cannot be read) too.
func (s *Silencer) configuredAlertmanagers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.configured
}

// Alertmanagers are the names of the configured Alertmanagers, sorted.
func (s *Silencer) Alertmanagers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.clients))
	for name := range s.clients {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Wake makes the silencer look now: a silence was added or expired.
func (s *Silencer) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run syncs until ctx is done.
func (s *Silencer) Run(ctx context.Context) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if s.leader() {
			s.Sync(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// Sync does what is due: copies to make, update, expire or check, and notices of the
// silences that ended.
func (s *Silencer) Sync(ctx context.Context) {
	s.syncing.Lock()
	defer s.syncing.Unlock()
	now := s.now()
	if err := s.store.EnsureCopies(ctx, s.Alertmanagers(), now); err != nil && ctx.Err() == nil {
		s.logger.Error("Cannot read the silences", "err", err)
		return
	}
	tasks, err := s.store.DueCopies(ctx, now, 100)
	if err != nil && ctx.Err() == nil {
		s.logger.Error("Cannot read the silences", "err", err)
		return
	}
	for _, task := range tasks {
		s.bringInLine(ctx, task)
	}
	s.notice(ctx, now)
}

// bringInLine makes one copy what the silence is now.
func (s *Silencer) bringInLine(ctx context.Context, task store.CopyTask) {
	sil, c := task.Silence, task.Copy
	s.mu.Lock()
	client := s.clients[c.Alertmanager]
	s.mu.Unlock()
	now := s.now()
	if client == nil {
		if !sil.Active(now) && (c.RemoteID == "" || c.Synced) {
			// Ended, and nothing there to expire: done with it.
			s.record(ctx, sil, c, s.store.CopySynced(ctx, sil.ID, c.Alertmanager, c.RemoteID, sil.UpdatedAt, time.Time{}))
			return
		}
		// Not in the config now (removed, or its TLS files unreadable at the last reload):
		// the copy waits, looked at again every check, for the Alertmanager to come back.
		s.record(ctx, sil, c, s.store.CopyFailed(ctx, sil.ID, c.Alertmanager, notConfigured, now.Add(checkEvery)))
		return
	}
	var err error
	remoteID, next := c.RemoteID, now.Add(checkEvery)
	switch {
	case !sil.Active(now):
		next = time.Time{} // ended: never again
		if remoteID != "" && !c.Synced {
			err = client.Expire(ctx, remoteID)
		}
	case c.Synced:
		var state string
		state, err = client.State(ctx, remoteID)
		if errors.Is(err, ErrNotFound) || (err == nil && state == "expired") {
			s.logger.Warn("An Alertmanager lost a silence; making it again", "alertmanager", c.Alertmanager, "silence", sil.ID)
			remoteID, err = s.put(ctx, client, "", sil)
		}
	default:
		remoteID, err = s.put(ctx, client, remoteID, sil)
	}
	if err != nil {
		s.metrics.failures.WithLabelValues(c.Alertmanager).Inc()
		wait := min(time.Second<<min(c.Attempts, 5), maxBackoff)
		s.logger.Warn("Cannot sync a silence to an Alertmanager; retrying", "alertmanager", c.Alertmanager, "silence", sil.ID, "in", wait, "err", err)
		s.record(ctx, sil, c, s.store.CopyFailed(ctx, sil.ID, c.Alertmanager, err.Error(), now.Add(wait)))
		return
	}
	if !next.IsZero() && sil.EndsAt.Before(next) {
		next = sil.EndsAt // look once more when it ends
	}
	s.record(ctx, sil, c, s.store.CopySynced(ctx, sil.ID, c.Alertmanager, remoteID, sil.UpdatedAt, next))
}

// put creates or updates the silence on one Alertmanager; an id it does not know any more
// is replaced by a new one.
func (s *Silencer) put(ctx context.Context, client *Client, remoteID string, sil store.Silence) (string, error) {
	matchers, err := config.ParseMatchers(sil.Matchers)
	if err != nil {
		return "", fmt.Errorf("silence %d: matchers: %w", sil.ID, err)
	}
	spec := Spec{Matchers: matchers, StartsAt: sil.StartsAt, EndsAt: sil.EndsAt, CreatedBy: sil.CreatedBy, Comment: sil.Comment}
	id, err := client.Put(ctx, remoteID, spec)
	if errors.Is(err, ErrNotFound) && remoteID != "" {
		return client.Put(ctx, "", spec)
	}
	return id, err
}

func (s *Silencer) record(ctx context.Context, sil store.Silence, c store.SilenceCopy, err error) {
	if err != nil && ctx.Err() == nil {
		s.logger.Error("Cannot record a silence's copy", "alertmanager", c.Alertmanager, "silence", sil.ID, "err", err)
	}
}

// notice sends, once, the short notice that a silence ended to the receivers that its
// alerts go to.
func (s *Silencer) notice(ctx context.Context, now time.Time) {
	ended, err := s.store.EndedSilences(ctx, now)
	if err != nil {
		if ctx.Err() == nil {
			s.logger.Error("Cannot read the ended silences", "err", err)
		}
		return
	}
	s.mu.Lock()
	route := s.route
	s.mu.Unlock()
	for _, sil := range ended {
		matchers, err := config.ParseMatchers(sil.Matchers)
		if err != nil {
			s.logger.Error("A stored silence has unreadable matchers", "silence", sil.ID, "err", err)
			continue
		}
		ls := model.LabelSet{}
		for _, m := range matchers {
			if m.Type == labels.MatchEqual {
				ls[model.LabelName(m.Name)] = model.LabelValue(m.Value)
			}
		}
		names, hostgroup := route(ls)
		if hostgroup == "" {
			hostgroup = Hostgroup
		}
		err = s.store.Update(ctx, func(tx *store.Tx) error {
			if first, err := tx.MarkNoticed(sil.ID); err != nil || !first {
				return err
			}
			for _, receiver := range names {
				if _, err := dispatch.Enqueue(tx, endedNotice(sil, receiver, hostgroup, now), now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Error("Cannot send the notice that a silence ended", "silence", sil.ID, "err", err)
			}
			continue
		}
		s.notify(names)
		s.logger.Info("A silence ended; its receivers are told", "silence", sil.ID, "matchers", sil.Matchers, "receivers", names)
	}
}

// endedNotice is the notice that sil ended, as one resolved alert, for receiver.
func endedNotice(sil store.Silence, receiver, hostgroup string, now time.Time) dispatch.Notification {
	how := "expired"
	if !sil.ExpiredAt.IsZero() {
		how = "was ended early"
	}
	alert := template.Alert{
		Status:   string(model.AlertResolved),
		Labels:   template.KV{"alertname": "SilenceEnded", "silence": fmt.Sprint(sil.ID), "hostgroup": hostgroup, "severity": "info"},
		StartsAt: sil.StartsAt, EndsAt: now,
		Annotations: template.KV{
			"summary":     fmt.Sprintf("Silence %d %s: %s alerts notify again", sil.ID, how, strings.Trim(sil.Matchers, "{}")),
			"description": fmt.Sprintf("Made by %s: %s", sil.CreatedBy, sil.Comment),
		},
		Fingerprint: fmt.Sprintf("silence-%d", sil.ID),
	}
	return dispatch.Notification{
		Receiver: receiver, Route: Route, Hostgroup: hostgroup,
		Data: receivers.NewData(receiver, alert.Status, template.Alerts{alert}, template.KV{"hostgroup": hostgroup}, ""),
	}
}
