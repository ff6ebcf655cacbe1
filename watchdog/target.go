package watchdog

import (
	"fmt"
	"slices"
	"time"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/receivers"
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

// observe folds one probe result into the state and returns the events it implies. A
// failed probe can only take the target down (or further down); a good one brings it back
// and then tells restarts, crash loops, and for Prometheus its reload status and its
// Alertmanagers.
func (s *targetState) observe(cfg *config.Watchdog, url string, r probeResult, now time.Time) []Event {
	s.LastProbe = now
	ev := &events{s: s, url: receivers.URLWithoutPassword(url), now: now}
	if r.err != nil {
		s.probeFailed(cfg, ev, r.err)
		return ev.out
	}
	s.probeSucceeded(ev)
	s.observeStart(ev, r.startTime)
	s.observeCrashLoop(ev)
	if s.Kind == KindPrometheus {
		s.observeReload(ev, r.reloadOK)
		s.observeAlertmanagers(cfg, ev, r)
	}
	return ev.out
}

// events collects the events of one observation of a target.
type events struct {
	s   *targetState
	url string // safe to show: no password
	now time.Time
	out []Event
}

func (e *events) add(kind, level string, resolved bool, since time.Time, summary, description string) {
	e.out = append(e.out, Event{Kind: kind, Level: level, TargetKind: e.s.Kind, Target: e.s.Name, URL: e.url, At: e.now,
		Since: since, Resolved: resolved, Summary: summary, Description: description})
}

// title names the target in messages: "Prometheus prom-main".
func (e *events) title() string { return kindTitle(e.s.Kind) + " " + e.s.Name }

// probeFailed counts the failure; once confirm probes in a row failed the target is down,
// and each level it reaches (info, warning, critical) is told once.
func (s *targetState) probeFailed(cfg *config.Watchdog, ev *events, err error) {
	s.LastError = err.Error()
	s.Failures++
	if s.Failures == 1 {
		s.FirstFailure = ev.now
	}
	if s.State != stateDown && s.Failures < cfg.Confirm {
		return
	}
	if s.State != stateDown {
		s.State, s.Since = stateDown, s.FirstFailure
	}
	level := downLevel(cfg, ev.now.Sub(s.Since))
	if levelRank(level) <= levelRank(s.Level) {
		return
	}
	s.Level = level
	ev.add(EventDown, level, false, s.Since, ev.title()+" is down",
		fmt.Sprintf("%s (%s) has failed every probe for %s (%d in a row): %s",
			ev.title(), ev.url, roundDuration(ev.now.Sub(s.Since)), s.Failures, s.LastError))
}

// probeSucceeded brings a down target back, once, and clears the outage's memory.
func (s *targetState) probeSucceeded(ev *events) {
	if s.State == stateDown {
		downFor := ev.now.Sub(s.Since)
		ev.add(EventRecovered, LevelInfo, true, s.Since,
			fmt.Sprintf("%s is back after %s", ev.title(), roundDuration(downFor)),
			fmt.Sprintf("%s (%s) answers its probes again; it was down for %s, since %s.",
				ev.title(), ev.url, roundDuration(downFor), s.Since.UTC().Format(time.RFC3339)))
	}
	if s.State != stateUp {
		s.State, s.Since = stateUp, ev.now
	}
	s.Failures, s.FirstFailure, s.Level, s.LastError = 0, time.Time{}, "", ""
}

// observeStart tells a restart: a start time later than any seen, now or while the
// watchdog itself was stopped. Only later ones count: a URL that balances over two
// replicas would otherwise alternate between their start times and look like a crash loop.
func (s *targetState) observeStart(ev *events, started time.Time) {
	if !s.StartTime.IsZero() && started.After(s.StartTime) {
		s.Restarts = append(s.Restarts, started)
		ev.add(EventRestarted, LevelWarning, false, started, ev.title()+" restarted",
			fmt.Sprintf("%s (%s) started again at %s; it had been running since %s.",
				ev.title(), ev.url, started.UTC().Format(time.RFC3339), s.StartTime.UTC().Format(time.RFC3339)))
	}
	if started.After(s.StartTime) {
		s.StartTime = started
	}
}

// observeCrashLoop raises a crash loop at crashLoopRestarts restarts within
// crashLoopWindow, and ends it when fewer remain in the window.
func (s *targetState) observeCrashLoop(ev *events) {
	s.Restarts = slices.DeleteFunc(s.Restarts, func(t time.Time) bool { return ev.now.Sub(t) > crashLoopWindow })
	switch {
	case len(s.Restarts) >= crashLoopRestarts && !s.CrashLoop:
		s.CrashLoop, s.CrashLoopSince = true, s.Restarts[0]
		ev.add(EventCrashLoop, LevelCritical, false, s.Restarts[0], ev.title()+" is crash looping",
			fmt.Sprintf("%s (%s) restarted %d times in the last %s.",
				ev.title(), ev.url, len(s.Restarts), roundDuration(crashLoopWindow)))
	case len(s.Restarts) < crashLoopRestarts && s.CrashLoop:
		s.CrashLoop = false
		ev.add(EventCrashLoopOver, LevelInfo, true, s.CrashLoopSince, ev.title()+" stopped crash looping",
			fmt.Sprintf("%s (%s) has restarted fewer than %d times in the last %s.",
				ev.title(), ev.url, crashLoopRestarts, roundDuration(crashLoopWindow)))
	}
}

// observeReload tells a failed configuration reload of Prometheus, and its recovery.
func (s *targetState) observeReload(ev *events, reloadOK bool) {
	switch {
	case !reloadOK && !s.ReloadFailed:
		s.ReloadFailed, s.ReloadFailedSince = true, ev.now
		ev.add(EventReloadFailed, LevelWarning, false, ev.now, ev.title()+" failed to reload its configuration",
			fmt.Sprintf("%s (%s) reports reloadConfigSuccess=false: it still runs its previous configuration. Its log says why.",
				ev.title(), ev.url))
	case reloadOK && s.ReloadFailed:
		s.ReloadFailed = false
		ev.add(EventReloadRecovered, LevelInfo, true, s.ReloadFailedSince, ev.title()+" reloaded its configuration",
			fmt.Sprintf("%s (%s) reloaded its configuration successfully.", ev.title(), ev.url))
	}
}

// observeAlertmanagers tells a Prometheus that sends to no Alertmanager, after confirm
// probes in a row and discoveryGrace since it started (discovery runs after start).
func (s *targetState) observeAlertmanagers(cfg *config.Watchdog, ev *events, r probeResult) {
	if r.alertmanagers == 0 {
		s.NoAlertmanagerProbes++
	} else {
		s.NoAlertmanagerProbes = 0
	}
	switch {
	case s.NoAlertmanagerProbes >= cfg.Confirm && ev.now.Sub(r.startTime) >= discoveryGrace && !s.NoAlertmanager:
		s.NoAlertmanager, s.NoAlertmanagerSince = true, ev.now
		ev.add(EventNoAlertmanager, LevelCritical, false, ev.now, ev.title()+" sends its alerts to no Alertmanager",
			fmt.Sprintf("%s (%s) has no active Alertmanager: every alert it fires goes nowhere.", ev.title(), ev.url))
	case r.alertmanagers > 0 && s.NoAlertmanager:
		s.NoAlertmanager = false
		ev.add(EventAlertmanagerFound, LevelInfo, true, s.NoAlertmanagerSince, ev.title()+" sends to Alertmanager again",
			fmt.Sprintf("%s (%s) has %d active Alertmanagers again.", ev.title(), ev.url, r.alertmanagers))
	}
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
