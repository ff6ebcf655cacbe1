package watchdog

import (
	"fmt"
	"slices"
	"time"

	"github.com/alertrouter/alertrouter/config"
)

// Event kinds.
const (
	EventDown               = "down"
	EventRecovered          = "recovered"
	EventRestarted          = "restarted"
	EventCrashLoop          = "crashloop"
	EventCrashLoopOver      = "crashloop_over"
	EventReloadFailed       = "config_reload_failed"
	EventReloadRecovered    = "config_reload_recovered"
	EventNoAlertmanager     = "no_alertmanager"
	EventAlertmanagerFound  = "alertmanager_connected"
	EventHeartbeatMissing   = "heartbeat_missing"
	EventHeartbeatRecovered = "heartbeat_recovered"
)

// Levels, lowest first; aliyun_cms picks its event name from them.
const (
	LevelInfo     = "info"
	LevelWarning  = "warning"
	LevelCritical = "critical"
)

// discoveryGrace is how long a started Prometheus may take to find its Alertmanagers
// (service discovery runs after start) before no_alertmanager can be raised.
const discoveryGrace = 30 * time.Second

// Crash loop: this many restarts within crashLoopWindow.
const (
	crashLoopRestarts = 3
	crashLoopWindow   = 15 * time.Minute
)

// Target states.
const (
	stateUnknown = "unknown"
	stateUp      = "up"
	stateDown    = "down"
)

// targetState is the watchdog's memory of one target, kept in the store as JSON.
type targetState struct {
	Kind  string    `json:"kind"`
	Name  string    `json:"name"`
	State string    `json:"state"`
	Since time.Time `json:"since"` // when State began: for down, the first failed probe
	// Failures counts failed probes in a row; FirstFailure is the first of them.
	Failures     int       `json:"failures"`
	FirstFailure time.Time `json:"firstFailure,omitzero"`
	// Level is the highest level sent for the current outage.
	Level     string    `json:"level,omitempty"`
	LastError string    `json:"lastError,omitempty"`
	LastProbe time.Time `json:"lastProbe,omitzero"`
	// StartTime is the target's last known start time; Restarts are the start times of
	// the restarts seen within crashLoopWindow.
	StartTime      time.Time   `json:"startTime,omitzero"`
	Restarts       []time.Time `json:"restarts,omitempty"`
	CrashLoop      bool        `json:"crashLoop,omitempty"`
	CrashLoopSince time.Time   `json:"crashLoopSince,omitzero"`
	// Problems reported and not yet cleared, and since when: a recovery names the
	// time its problem began, as the alert it resolves does.
	ReloadFailed        bool      `json:"reloadFailed,omitempty"`
	ReloadFailedSince   time.Time `json:"reloadFailedSince,omitzero"`
	NoAlertmanager      bool      `json:"noAlertmanager,omitempty"`
	NoAlertmanagerSince time.Time `json:"noAlertmanagerSince,omitzero"`
	// NoAlertmanagerProbes counts probes in a row that found no Alertmanager.
	NoAlertmanagerProbes int `json:"noAlertmanagerProbes,omitempty"`
}

// Event is something the watchdog tells its receivers, once.
type Event struct {
	Kind       string
	Level      string
	TargetKind string // prometheus, alertmanager or heartbeat
	Target     string // the target's name, or the heartbeat's source
	URL        string
	At         time.Time
	// Since is when the problem began; a problem and its recovery share it.
	Since       time.Time
	Resolved    bool
	Summary     string
	Description string
}

// observe folds one probe result into the state and returns the events it implies.
func (s *targetState) observe(cfg *config.Watchdog, url string, r probeResult, now time.Time) []Event {
	s.LastProbe = now
	ev := func(kind, level string, resolved bool, since time.Time, summary, description string) Event {
		return Event{Kind: kind, Level: level, TargetKind: s.Kind, Target: s.Name, URL: safeURL(url), At: now,
			Since: since, Resolved: resolved, Summary: summary, Description: description}
	}
	title := kindTitle(s.Kind)
	if r.err != nil {
		s.LastError = r.err.Error()
		s.Failures++
		if s.Failures == 1 {
			s.FirstFailure = now
		}
		if s.State != stateDown && s.Failures < cfg.Confirm {
			return nil
		}
		if s.State != stateDown {
			s.State, s.Since = stateDown, s.FirstFailure
		}
		level := downLevel(cfg, now.Sub(s.Since))
		if levelRank(level) <= levelRank(s.Level) {
			return nil
		}
		s.Level = level
		return []Event{ev(EventDown, level, false, s.Since,
			fmt.Sprintf("%s %s is down", title, s.Name),
			fmt.Sprintf("%s %s (%s) has failed every probe for %s (%d in a row): %s",
				title, s.Name, safeURL(url), roundDuration(now.Sub(s.Since)), s.Failures, s.LastError))}
	}

	var events []Event
	if s.State == stateDown {
		downFor := now.Sub(s.Since)
		events = append(events, ev(EventRecovered, LevelInfo, true, s.Since,
			fmt.Sprintf("%s %s is back after %s", title, s.Name, roundDuration(downFor)),
			fmt.Sprintf("%s %s (%s) answers its probes again; it was down for %s, since %s.",
				title, s.Name, safeURL(url), roundDuration(downFor), s.Since.UTC().Format(time.RFC3339))))
	}
	if s.State != stateUp {
		s.State, s.Since = stateUp, now
	}
	s.Failures, s.FirstFailure, s.Level, s.LastError = 0, time.Time{}, "", ""

	// A later start time is a restart, seen now or while the watchdog itself was
	// stopped. Only later ones count: a URL that balances over two replicas would
	// otherwise alternate between their start times and look like a crash loop.
	if !s.StartTime.IsZero() && r.startTime.After(s.StartTime) {
		previous := s.StartTime
		s.Restarts = append(s.Restarts, r.startTime)
		events = append(events, ev(EventRestarted, LevelWarning, false, r.startTime,
			fmt.Sprintf("%s %s restarted", title, s.Name),
			fmt.Sprintf("%s %s (%s) started again at %s; it had been running since %s.",
				title, s.Name, safeURL(url), r.startTime.UTC().Format(time.RFC3339), previous.UTC().Format(time.RFC3339))))
	}
	if r.startTime.After(s.StartTime) {
		s.StartTime = r.startTime
	}
	s.Restarts = slices.DeleteFunc(s.Restarts, func(t time.Time) bool { return now.Sub(t) > crashLoopWindow })
	switch {
	case len(s.Restarts) >= crashLoopRestarts && !s.CrashLoop:
		s.CrashLoop, s.CrashLoopSince = true, s.Restarts[0]
		events = append(events, ev(EventCrashLoop, LevelCritical, false, s.Restarts[0],
			fmt.Sprintf("%s %s is crash looping", title, s.Name),
			fmt.Sprintf("%s %s (%s) restarted %d times in the last %s.",
				title, s.Name, safeURL(url), len(s.Restarts), roundDuration(crashLoopWindow))))
	case len(s.Restarts) < crashLoopRestarts && s.CrashLoop:
		s.CrashLoop = false
		events = append(events, ev(EventCrashLoopOver, LevelInfo, true, s.CrashLoopSince,
			fmt.Sprintf("%s %s stopped crash looping", title, s.Name),
			fmt.Sprintf("%s %s (%s) has restarted fewer than %d times in the last %s.",
				title, s.Name, safeURL(url), crashLoopRestarts, roundDuration(crashLoopWindow))))
	}

	if s.Kind != KindPrometheus {
		return events
	}
	switch {
	case !r.reloadOK && !s.ReloadFailed:
		s.ReloadFailed, s.ReloadFailedSince = true, now
		events = append(events, ev(EventReloadFailed, LevelWarning, false, now,
			fmt.Sprintf("Prometheus %s failed to reload its configuration", s.Name),
			fmt.Sprintf("Prometheus %s (%s) reports reloadConfigSuccess=false: it still runs its previous configuration. Its log says why.",
				s.Name, safeURL(url))))
	case r.reloadOK && s.ReloadFailed:
		s.ReloadFailed = false
		events = append(events, ev(EventReloadRecovered, LevelInfo, true, s.ReloadFailedSince,
			fmt.Sprintf("Prometheus %s reloaded its configuration", s.Name),
			fmt.Sprintf("Prometheus %s (%s) reloaded its configuration successfully.", s.Name, safeURL(url))))
	}
	if r.alertmanagers == 0 {
		s.NoAlertmanagerProbes++
	} else {
		s.NoAlertmanagerProbes = 0
	}
	switch {
	case s.NoAlertmanagerProbes >= cfg.Confirm && now.Sub(r.startTime) >= discoveryGrace && !s.NoAlertmanager:
		s.NoAlertmanager, s.NoAlertmanagerSince = true, now
		events = append(events, ev(EventNoAlertmanager, LevelCritical, false, now,
			fmt.Sprintf("Prometheus %s sends its alerts to no Alertmanager", s.Name),
			fmt.Sprintf("Prometheus %s (%s) has no active Alertmanager: every alert it fires goes nowhere.", s.Name, safeURL(url))))
	case r.alertmanagers > 0 && s.NoAlertmanager:
		s.NoAlertmanager = false
		events = append(events, ev(EventAlertmanagerFound, LevelInfo, true, s.NoAlertmanagerSince,
			fmt.Sprintf("Prometheus %s sends to Alertmanager again", s.Name),
			fmt.Sprintf("Prometheus %s (%s) has %d active Alertmanagers again.", s.Name, safeURL(url), r.alertmanagers)))
	}
	return events
}

// downLevel is the level a target down for d has reached.
func downLevel(cfg *config.Watchdog, d time.Duration) string {
	switch {
	case d >= cfg.CriticalAfter.Std():
		return LevelCritical
	case d >= cfg.WarningAfter.Std():
		return LevelWarning
	}
	return LevelInfo
}

func levelRank(level string) int {
	return slices.Index([]string{"", LevelInfo, LevelWarning, LevelCritical}, level)
}

func kindTitle(kind string) string {
	switch kind {
	case KindPrometheus:
		return "Prometheus"
	case KindAlertmanager:
		return "Alertmanager"
	}
	return kind
}

// roundDuration keeps messages readable: 3m20s, not 3m20.123456789s.
func roundDuration(d time.Duration) time.Duration { return d.Round(time.Second) }
