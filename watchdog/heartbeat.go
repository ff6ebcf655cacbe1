package watchdog

import (
	"fmt"
	"time"

	"github.com/alertrouter/alertrouter/config"
)

// heartbeatState is the dead-man's switch's memory of one source.
type heartbeatState struct {
	Source   string    `json:"source"`
	LastSeen time.Time `json:"lastSeen,omitzero"`
	// Missing is set once heartbeat_missing was sent, until the heartbeat returns.
	Missing bool      `json:"missing,omitempty"`
	Since   time.Time `json:"since,omitzero"`
}

// neverSeenSource is the state's source while no heartbeat has ever arrived.
const neverSeenSource = ""

// observe checks a source's silence and returns the events it implies. lastSeen is
// zero for the never-seen state, whose silence counts from since. Silence is counted
// from watching at the earliest: while alertrouter itself was stopped, nobody could
// have received the heartbeat.
func (s *heartbeatState) observe(cfg *config.Heartbeat, lastSeen, watching, now time.Time) []Event {
	previous := s.LastSeen
	if previous.IsZero() {
		previous = s.Since
	}
	s.LastSeen = lastSeen
	quietSince := lastSeen
	if quietSince.IsZero() {
		quietSince = s.Since
	}
	silent := now.Sub(quietSince)
	// Silence that counts towards an alarm: not while nobody was listening.
	alarming := silent
	if watching.After(quietSince) {
		alarming = now.Sub(watching)
	}
	name := s.Source
	if name == neverSeenSource {
		name = "any source"
	}
	ev := func(kind, level string, resolved bool, summary, description string) Event {
		return Event{Kind: kind, Level: level, TargetKind: "heartbeat", Target: name, At: now,
			Since: quietSince, Resolved: resolved, Summary: summary, Description: description}
	}
	switch {
	case alarming >= cfg.Timeout.Std() && !s.Missing:
		s.Missing = true
		what := fmt.Sprintf("No %s heartbeat from %s for %s", cfg.Alertname, name, roundDuration(silent))
		if lastSeen.IsZero() {
			what = fmt.Sprintf("No %s heartbeat has arrived in the %s since the watchdog started", cfg.Alertname, roundDuration(silent))
		}
		return []Event{ev(EventHeartbeatMissing, LevelCritical, false, "Alert pipeline broken: "+what,
			what+": Prometheus, its rule evaluation, Alertmanager or the way to alertrouter is broken, and no other alert can say so.")}
	case silent < cfg.Timeout.Std() && s.Missing:
		s.Missing = false
		e := ev(EventHeartbeatRecovered, LevelInfo, true, fmt.Sprintf("Alert pipeline restored: %s heartbeat from %s", cfg.Alertname, name),
			fmt.Sprintf("The %s heartbeat from %s arrives again; it was silent for %s.", cfg.Alertname, name, roundDuration(lastSeen.Sub(previous))))
		e.Since = previous
		return []Event{e}
	}
	return nil
}
