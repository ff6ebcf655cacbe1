package watchdog

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/alertrouter/alertrouter/receivers"
)

// Status is what GET /api/v1/watchdog shows.
type Status struct {
	Targets    []TargetStatus    `json:"targets"`
	Heartbeats []HeartbeatStatus `json:"heartbeats"`
}

// TargetStatus is one target's state as the watchdog last saw it.
type TargetStatus struct {
	Kind  string `json:"kind"`
	Name  string `json:"name"`
	URL   string `json:"url"`
	State string `json:"state"` // unknown, up or down
	// Since is when State began; for down, the first failed probe.
	Since          time.Time `json:"since,omitzero"`
	Failures       int       `json:"failures"`
	Level          string    `json:"level,omitempty"`
	LastStartTime  time.Time `json:"lastStartTime,omitzero"`
	LastProbe      time.Time `json:"lastProbe,omitzero"`
	LastError      string    `json:"lastError,omitempty"`
	CrashLoop      bool      `json:"crashLoop"`
	ReloadFailed   bool      `json:"reloadFailed"`
	NoAlertmanager bool      `json:"noAlertmanager"`
}

// HeartbeatStatus is one heartbeat source.
type HeartbeatStatus struct {
	Source          string    `json:"source"`
	LastSeen        time.Time `json:"lastSeen"`
	SecondsSinceNow float64   `json:"secondsSinceLastSeen"`
	Missing         bool      `json:"missing"`
}

// Status reads the watchdog's state from the store.
func (w *Watchdog) Status(ctx context.Context) (Status, error) {
	cfg := w.cfg.Load()
	if cfg == nil {
		return Status{}, ErrNotConfigured
	}
	stored, err := w.store.WatchdogStates(ctx)
	if err != nil {
		return Status{}, err
	}
	now := w.now()
	out := Status{Targets: []TargetStatus{}, Heartbeats: []HeartbeatStatus{}}
	for _, t := range targets(cfg) {
		st, err := t.state(stored, time.Time{})
		if err != nil {
			return Status{}, err
		}
		out.Targets = append(out.Targets, TargetStatus{
			Kind: t.kind, Name: t.Name, URL: receivers.URLWithoutPassword(t.URL), State: st.State, Since: st.Since,
			Failures: st.Failures, Level: st.Level, LastStartTime: st.StartTime, LastProbe: st.LastProbe,
			LastError: st.LastError, CrashLoop: st.CrashLoop, ReloadFailed: st.ReloadFailed, NoAlertmanager: st.NoAlertmanager,
		})
	}
	if cfg.Heartbeat == nil {
		return out, nil
	}
	seen, err := w.store.Heartbeats(ctx)
	if err != nil {
		return Status{}, err
	}
	for source, at := range seen {
		hs := HeartbeatStatus{Source: source, LastSeen: at, SecondsSinceNow: now.Sub(at).Seconds()}
		var st heartbeatState
		if err := loadState(stored, heartbeatKeyPrefix+source, &st); err != nil {
			return Status{}, err
		}
		hs.Missing = st.Missing
		out.Heartbeats = append(out.Heartbeats, hs)
	}
	slices.SortFunc(out.Heartbeats, func(a, b HeartbeatStatus) int { return strings.Compare(a.Source, b.Source) })
	return out, nil
}
