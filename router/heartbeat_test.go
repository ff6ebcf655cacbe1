package router

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"
)

const heartbeatCfg = `receivers:
  - name: ops
    log: {}
  - name: cms
    log: {}
routes:
  - hostgroup: monitoring
    receivers: [ops]
default_receivers: [ops]
watchdog:
  receivers: [cms]
  heartbeat:
    alertname: Watchdog
    timeout: 10m
`

// The Watchdog alert feeds the dead-man's switch and never reaches a person: it is
// recorded per source in the webhook's transaction and not routed.
func TestHeartbeatIsRecordedNotDelivered(t *testing.T) {
	e := newEnv(t, heartbeatCfg, "", false)
	res := e.mustPost(payload("am-a",
		alert{name: "Watchdog", hostgroup: "monitoring", extra: map[string]string{"prometheus": "monitoring/prom-a"}},
		alert{name: "Watchdog", hostgroup: "monitoring"},
		alert{name: "Watchdog", hostgroup: "monitoring", status: "resolved", extra: map[string]string{"prometheus": "gone"}},
		alert{name: "GPU_TemperatureHigh", hostgroup: "monitoring", instance: "gpu-1"},
	))
	if res.Heartbeats != 3 || res.Notifications != 1 || res.Alerts != 4 {
		t.Fatalf("accept result %+v", res)
	}
	pending := e.list("")
	if len(pending) != 1 || pending[0].AlertNames[0] != "GPU_TemperatureHigh" {
		t.Fatalf("notifications %+v, want only the GPU alert", pending)
	}
	seen, err := e.store.Heartbeats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// By the prometheus external label, else by the Alertmanager's URL; a resolved
	// heartbeat is no sign of life.
	if len(seen) != 2 || !seen["monitoring/prom-a"].Equal(testStart.Truncate(time.Millisecond)) || seen["http://am-a:9093"].IsZero() {
		t.Fatalf("heartbeats %v", seen)
	}
	if got := e.counter("alertrouter_heartbeats_received_total", "source", "monitoring/prom-a"); got != 1 {
		t.Fatalf("heartbeats metric %v", got)
	}

	// Without a heartbeat in the config, a Watchdog alert is an alert like any other.
	plain := newEnv(t, "receivers:\n  - name: ops\n    log: {}\ndefault_receivers: [ops]\n", "", false)
	if res := plain.mustPost(payload("am-a", alert{name: "Watchdog", hostgroup: "monitoring"})); res.Notifications != 1 || res.Heartbeats != 0 {
		t.Fatalf("without heartbeat config: %+v", res)
	}
}

func TestWatchdogAPI(t *testing.T) {
	e := newEnv(t, heartbeatCfg, "", false)
	e.mustPost(payload("am-a", alert{name: "Watchdog", hostgroup: "monitoring", extra: map[string]string{"replica": "a"}}))
	r := e.do(http.MethodGet, "/api/v1/watchdog", "", nil, nil)
	data, _ := r.Body.Data.(map[string]any)
	hbs, _ := data["heartbeats"].([]any)
	if r.Code != http.StatusOK || len(hbs) != 1 || hbs[0].(map[string]any)["source"] != "a" {
		t.Fatalf("GET /api/v1/watchdog = %d %s", r.Code, r.Raw)
	}
	plain := newEnv(t, "receivers:\n  - name: ops\n    log: {}\ndefault_receivers: [ops]\n", "", false)
	if r := plain.do(http.MethodGet, "/api/v1/watchdog", "", nil, nil); r.Code != http.StatusNotFound {
		t.Fatalf("without a watchdog: %d %s", r.Code, r.Raw)
	}
}

// A heartbeat committed in a transaction with webhooks that came before it is recorded
// at the time it came, not at theirs.
func TestHeartbeatCommittedWithEarlierWebhooksKeepsItsTime(t *testing.T) {
	e := newEnv(t, heartbeatCfg, "", false)
	release := holdCommits(t, e)
	var wg sync.WaitGroup
	wg.Go(func() {
		postAll(t, e, payload("am-a", alert{name: "GPU_TemperatureHigh", hostgroup: "monitoring", instance: "gpu-1"}))
	})
	waitingToCommit(t, e, 1)
	e.clock.Add(5 * time.Second)
	wg.Go(func() {
		postAll(t, e, payload("am-b", alert{name: "Watchdog", hostgroup: "monitoring", extra: map[string]string{"prometheus": "monitoring/prom-b"}}))
	})
	release(2)
	wg.Wait()
	seen, err := e.store.Heartbeats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := testStart.Add(5 * time.Second).Truncate(time.Millisecond); !seen["monitoring/prom-b"].Equal(want) {
		t.Fatalf("heartbeat seen at %v, want %v", seen["monitoring/prom-b"], want)
	}
}
