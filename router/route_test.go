package router

import (
	"slices"
	"testing"

	"github.com/prometheus/common/model"

	"github.com/alertrouter/alertrouter/config"
)

func TestRouting(t *testing.T) {
	cfg, err := config.LoadFile("../config/testdata/issue.yml")
	if err != nil {
		t.Fatal(err)
	}
	routes := NewRoutes(cfg)
	tests := []struct {
		name          string
		labels        model.LabelSet
		matched       []string
		targets       []Target
		defaultReason string
	}{
		{"exact hostgroup", model.LabelSet{"alertname": "X", "hostgroup": "fg-ng-ec-microloan", "severity": "critical"},
			[]string{"routes[0]"}, []Target{{"pay-hook", "routes[0]"}}, ""},
		{"exact is not a prefix match", model.LabelSet{"alertname": "X", "hostgroup": "fg-ng-ec-microloan-2"},
			nil, []Target{{"ops-log", "default"}}, "no_route"},
		{"regex and matcher", model.LabelSet{"alertname": "X", "hostgroup": "gpu-a100", "severity": "critical"},
			[]string{"routes[1]"}, []Target{{"ops-log", "routes[1]"}, {"pay-hook", "routes[1]"}}, ""},
		{"regex is anchored", model.LabelSet{"alertname": "X", "hostgroup": "old-gpu-a100", "severity": "critical"},
			nil, []Target{{"ops-log", "default"}}, "no_route"},
		{"matcher fails", model.LabelSet{"alertname": "X", "hostgroup": "gpu-a100", "severity": "warning"},
			nil, []Target{{"ops-log", "default"}}, "no_route"},
		{"no hostgroup", model.LabelSet{"alertname": "X", "severity": "critical"},
			nil, []Target{{"ops-log", "default"}}, "no_hostgroup"},
		{"empty hostgroup", model.LabelSet{"alertname": "X", "hostgroup": ""},
			nil, []Target{{"ops-log", "default"}}, "no_hostgroup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := routes.Route(tt.labels)
			if !slices.Equal(d.Matched, tt.matched) || !slices.Equal(d.Targets, tt.targets) || d.DefaultReason != tt.defaultReason {
				t.Fatalf("got %+v\nwant matched %v targets %v reason %q", d, tt.matched, tt.targets, tt.defaultReason)
			}
		})
	}
}

func TestRoutingContinueAndFirstMatch(t *testing.T) {
	cfg, err := config.Load([]byte(`
global:
  hostgroup_label: team
receivers:
  - {name: a, log: {}}
  - {name: b, log: {}}
  - {name: c, log: {}}
routes:
  - name: all-gpu
    hostgroup_regex: 'gpu-.*'
    receivers: [a]
    continue: true
  - hostgroup: gpu-1
    receivers: [b, a]
  - hostgroup: gpu-1
    receivers: [c]
default_receivers: [c]
`), "cfg.yml")
	if err != nil {
		t.Fatal(err)
	}
	d := NewRoutes(cfg).Route(model.LabelSet{"alertname": "X", "team": "gpu-1"})
	want := []Target{{"a", "all-gpu"}, {"b", "routes[1]"}}
	if !slices.Equal(d.Matched, []string{"all-gpu", "routes[1]"}) || !slices.Equal(d.Targets, want) {
		t.Fatalf("got %+v, want targets %v (continue, then first match wins, each receiver once)", d, want)
	}
}

// The heartbeat is a routing outcome of its own: recorded, never delivered, whatever
// routes its labels would match. Without a heartbeat config it is an alert like any other.
func TestHeartbeatIsARoutingOutcome(t *testing.T) {
	cfg, err := config.LoadFile("../examples/alertrouter.yml")
	if err != nil {
		t.Fatal(err)
	}
	d := NewRoutes(cfg).Route(model.LabelSet{"alertname": "Watchdog", "hostgroup": "monitoring", "severity": "info"})
	if !d.Heartbeat || len(d.Targets) != 0 || len(d.Matched) != 0 || d.DefaultReason != "" {
		t.Fatalf("heartbeat decision = %+v, want a heartbeat with no targets", d)
	}
	if d := NewRoutes(cfg).Route(model.LabelSet{"alertname": "WatchdogX", "hostgroup": "monitoring"}); d.Heartbeat || len(d.Targets) == 0 {
		t.Fatalf("another alert name: %+v", d)
	}
	noWatchdog, err := config.LoadFile("../config/testdata/issue.yml")
	if err != nil {
		t.Fatal(err)
	}
	if d := NewRoutes(noWatchdog).Route(model.LabelSet{"alertname": "Watchdog"}); d.Heartbeat || len(d.Targets) != 1 {
		t.Fatalf("without a heartbeat config: %+v", d)
	}
}
