package config

import (
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/common/model"

	"github.com/alertrouter/alertrouter/config/duration"
	"github.com/alertrouter/alertrouter/receivers"
)

// Watchdog watches Prometheus and Alertmanager from inside alertrouter, and listens for
// the Watchdog heartbeat alert. Its events go straight to Receivers, not through routes:
// when the pipeline is broken, routing is not to be trusted.
type Watchdog struct {
	// Interval is how often every target is probed.
	Interval duration.Duration `yaml:"interval"`
	// Confirm is how many probes in a row must fail before a target counts as down.
	Confirm int `yaml:"confirm"`
	// WarningAfter and CriticalAfter escalate a down target.
	WarningAfter  duration.Duration `yaml:"warning_after"`
	CriticalAfter duration.Duration `yaml:"critical_after"`
	Receivers     []string          `yaml:"receivers"`
	Prometheus    []Target          `yaml:"prometheus"`
	Alertmanager  []Target          `yaml:"alertmanager"`
	// Heartbeat is the dead-man's switch; nil when not configured.
	Heartbeat *Heartbeat `yaml:"heartbeat"`
}

// Target is one Prometheus or Alertmanager the watchdog probes.
type Target struct {
	Name string `yaml:"name"`
	URL  string `yaml:"url"`
	// Alertmanager is the entry of alertmanagers that an Alertmanager target names instead
	// of giving a URL: the watchdog probes it with that entry's credentials, proxy and TLS
	// settings. Set by validation.
	Alertmanager *Alertmanager `yaml:"-"`
}

// MarshalYAML shows the target with its URL's password hidden, as the watchdog's status
// does: a Prometheus target has nowhere else to carry credentials, and the config is shown
// to every viewer.
func (t Target) MarshalYAML() (any, error) {
	type plain Target
	p := plain(t)
	p.URL = receivers.URLWithoutPassword(t.URL)
	return p, nil
}

// Heartbeat names the always-firing alert and how long its silence is tolerated.
type Heartbeat struct {
	Alertname string            `yaml:"alertname"`
	Timeout   duration.Duration `yaml:"timeout"`
}

// IsHeartbeat reports whether alertname is the watchdog's heartbeat alert. This is the
// one definition of a heartbeat: the router records it for the dead-man's switch instead
// of routing it, `route test` says so, and `rules lint` does not ask it for a route.
func (c *Config) IsHeartbeat(alertname string) bool {
	return c.Watchdog != nil && c.Watchdog.Heartbeat != nil && c.Watchdog.Heartbeat.Alertname == alertname
}

// HeartbeatSource names where a heartbeat alert comes from, so that each Prometheus of a
// pair has its own switch: the Prometheus that fires it, by its `prometheus` or `replica`
// external label, else the Alertmanager that forwarded it, by its external URL.
func HeartbeatSource(labels map[string]string, externalURL string) string {
	for _, name := range []string{"prometheus", "replica"} {
		if v := labels[name]; v != "" {
			return v
		}
	}
	return externalURL
}

// Watchdog defaults, as in the README.
const (
	DefaultWatchdogInterval = duration.Duration(30 * time.Second)
	DefaultWatchdogConfirm  = 2
	DefaultWarningAfter     = duration.Duration(time.Minute)
	DefaultCriticalAfter    = duration.Duration(3 * time.Minute)
	DefaultHeartbeatName    = "Watchdog"
	DefaultHeartbeatTimeout = duration.Duration(10 * time.Minute)
)

// ProbeTimeout bounds a whole probe of a target, all its requests together: shorter
// than the interval, so that probes never overlap, and never above 10s.
func (w *Watchdog) ProbeTimeout() time.Duration {
	return min(w.Interval.Std()*4/5, 10*time.Second)
}

func (w *Watchdog) applyDefaults() {
	if w.Interval == 0 {
		w.Interval = DefaultWatchdogInterval
	}
	if w.Confirm == 0 {
		w.Confirm = DefaultWatchdogConfirm
	}
	if w.WarningAfter == 0 {
		w.WarningAfter = DefaultWarningAfter
	}
	if w.CriticalAfter == 0 {
		w.CriticalAfter = DefaultCriticalAfter
	}
	if w.Heartbeat != nil {
		if w.Heartbeat.Alertname == "" {
			w.Heartbeat.Alertname = DefaultHeartbeatName
		}
		if w.Heartbeat.Timeout == 0 {
			w.Heartbeat.Timeout = DefaultHeartbeatTimeout
		}
	}
}

// validate checks the watchdog section; an Alertmanager target may name one of ams (by
// name alone) instead of giving its URL.
func (w *Watchdog) validate(receivers map[string]bool, ams []Alertmanager) error {
	for i := range w.Alertmanager {
		t := &w.Alertmanager[i]
		if j := slices.IndexFunc(ams, func(am Alertmanager) bool { return am.Name == t.Name }); t.URL == "" && j >= 0 {
			t.URL, t.Alertmanager = ams[j].URL, &ams[j]
		}
	}
	w.applyDefaults()
	if w.Interval.Std() < time.Second {
		return errf("watchdog.interval", "must be at least 1s")
	}
	if w.Confirm < 1 {
		return errf("watchdog.confirm", "must be at least 1")
	}
	if w.WarningAfter < 0 || w.CriticalAfter < w.WarningAfter {
		return errf("watchdog.critical_after", "must not be shorter than warning_after (%s)", w.WarningAfter)
	}
	if len(w.Receivers) == 0 {
		return errf("watchdog.receivers", "at least one receiver is required: watchdog events go there")
	}
	if err := checkReceiverRefs("watchdog.receivers", w.Receivers, receivers); err != nil {
		return err
	}
	if len(w.Prometheus) == 0 && len(w.Alertmanager) == 0 && w.Heartbeat == nil {
		return errf("watchdog", "nothing to watch: add prometheus, alertmanager or heartbeat")
	}
	names := map[string]bool{}
	for _, group := range []struct {
		kind    string
		targets []Target
	}{{"prometheus", w.Prometheus}, {"alertmanager", w.Alertmanager}} {
		kind := group.kind
		for i, t := range group.targets {
			path := fmt.Sprintf("watchdog.%s[%d]", kind, i)
			if t.Name == "" {
				return errf(path+".name", "is required")
			}
			if names[t.Name] {
				return errf(path+".name", "duplicate target name %q", t.Name)
			}
			names[t.Name] = true
			if err := checkBaseURL(path+".url", t.URL, "http://127.0.0.1:9090"); err != nil {
				if kind == "alertmanager" && t.URL == "" {
					return errf(path+".url", "is required, unless name is one of alertmanagers")
				}
				return err
			}
		}
	}
	if h := w.Heartbeat; h != nil {
		if !model.LabelValue(h.Alertname).IsValid() || h.Alertname == "" {
			return errf("watchdog.heartbeat.alertname", "%q is not a valid alert name", h.Alertname)
		}
		if h.Timeout.Std() < time.Minute {
			return errf("watchdog.heartbeat.timeout", "must be at least 1m: Prometheus resends the heartbeat every minute at best")
		}
	}
	return nil
}
