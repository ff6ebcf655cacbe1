package router

// The China IM robots through the whole server: their answers in the body, their low
// rate limits, and the digests that keep a burst from queueing for an hour.

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alertrouter/alertrouter/receivers/dingtalk/dingtalktest"
	"github.com/alertrouter/alertrouter/store"
)

func dingtalkConfig(url, extra string) string {
	return `
global:
  max_retry_age: 24h
receivers:
  - name: ops-dingtalk
    dingtalk:
      webhook_url: ` + url + `
      secret: SECtest` + extra + `
routes:
  - hostgroup_regex: '.+'
    receivers: [ops-dingtalk]
default_receivers: [ops-dingtalk]
`
}

// A burst of 30 notifications to a robot that takes a few a minute: after its burst,
// the rest go out as one digest, in order, each recorded as sent folded into it.
func TestBurstToARobotIsFoldedIntoOneDigest(t *testing.T) {
	robot := dingtalktest.New(t)
	robot.SetSecret("SECtest")
	cfg := dingtalkConfig(robot.URL(), "\n      rate_limit: 0.5\n      burst: 2")
	dir := t.TempDir()
	// Enqueue the whole burst before the dispatcher runs, so that it finds it due at once.
	e := newEnv(t, cfg, dir, false)
	for i := range 29 {
		e.mustPost(payload("am1", alert{name: "VPN_Down", hostgroup: fmt.Sprintf("pay-%02d", i), instance: "10.8.0.1:443"}))
	}
	e.mustPost(payload("am1", alert{name: "VPN_Down", hostgroup: "pay-05", instance: "10.8.0.1:443", status: "resolved"}))
	e.Close()

	e = newEnv(t, cfg, dir, true)
	eventually(t, "every notification sent", func() bool { return len(e.list(store.Sent)) == 30 })
	msgs := robot.Messages()
	if len(msgs) != 3 {
		t.Fatalf("the robot got %d messages, want 3: two within its burst, then one digest", len(msgs))
	}
	digest := msgs[2].Content()
	if n := strings.Count(digest, "VPN_Down"); n < 28 {
		t.Fatalf("the digest names %d alerts, want the 28 left:\n%s", n, digest)
	}
	// In order: pay-05's firing comes before its resolution.
	if f, r := strings.Index(digest, "【告警】"), strings.LastIndex(digest, "【恢复】"); f < 0 || r < f {
		t.Errorf("the resolution is not after the firings in the digest:\n%s", digest)
	}
	var head int64
	folded := 0
	for _, n := range e.list(store.Sent) {
		if n.FoldedInto != 0 {
			folded++
			if head != 0 && n.FoldedInto != head {
				t.Errorf("notification %d folded into %d, others into %d", n.ID, n.FoldedInto, head)
			}
			head = n.FoldedInto
		}
	}
	if folded != 27 {
		t.Errorf("%d notifications folded into another, want 27 (the digest's head is sent as itself)", folded)
	}
	eventually(t, "the folded metric", func() bool {
		return e.counter("alertrouter_notifications_folded_total", "receiver", "ops-dingtalk") == 27 &&
			e.counter("alertrouter_notifications_sent_total", "receiver", "ops-dingtalk") == 30
	})
	if api := e.do(http.MethodGet, "/api/v1/notifications?status=sent", "", nil, nil).Raw; !strings.Contains(api, fmt.Sprintf(`"foldedInto":%d`, head)) {
		t.Errorf("the API does not show foldedInto: %s", api)
	}
}

// "Sent too fast" answers 200 with errcode 130101: it pauses the receiver for
// throttle_wait, is no failure, and the message then goes out exactly once.
func TestRobotThrottleWaitsAndDeliversOnce(t *testing.T) {
	robot := dingtalktest.New(t)
	robot.SetSecret("SECtest")
	robot.Throttle(1)
	e := newEnv(t, dingtalkConfig(robot.URL(), ""), "", true)
	e.mustPost(payload("am1", alert{name: "VPN_Down", hostgroup: "pay-vpn", instance: "10.8.0.1:443"}))
	eventually(t, "the throttle", func() bool { return e.counter("alertrouter_notifications_throttled_total") == 1 })
	p := e.list(store.Pending)
	if len(p) != 1 || p[0].Attempts != 0 || !p[0].NextAttemptAt.Equal(testStart.Add(time.Minute)) {
		t.Fatalf("after errcode 130101: %+v, want pending, no attempt counted, due after throttle_wait (1m)", p)
	}
	e.settle(20*time.Second, "delivery after the pause", func() bool { return len(robot.Messages()) == 1 })
	eventually(t, "sent", func() bool { return len(e.list(store.Sent)) == 1 })
	if c := e.counter("alertrouter_notifications_failed_total"); c != 0 {
		t.Errorf("throttling counted as %v failures", c)
	}
}

// A security refusal is permanent, and the dead notification says which setting to check.
func TestRobotSecurityRefusalIsDeadAndSaysWhy(t *testing.T) {
	robot := dingtalktest.New(t)
	robot.SetSecret("SECanother") // the robot's secret is not the one configured
	e := newEnv(t, dingtalkConfig(robot.URL(), ""), "", true)
	e.mustPost(payload("am1", alert{name: "VPN_Down", hostgroup: "pay-vpn", instance: "10.8.0.1:443"}))
	eventually(t, "dead", func() bool { return len(e.list(store.Dead)) == 1 })
	dead := e.list(store.Dead)[0]
	if dead.Attempts != 1 || !strings.Contains(dead.LastError, "310000") || !strings.Contains(dead.LastError, "signing secret") {
		t.Fatalf("dead notification = %+v, want one attempt and the error naming errcode 310000 and the secret", dead)
	}
	api := e.do(http.MethodGet, "/api/v1/notifications?status=dead", "", nil, nil).Raw
	if !strings.Contains(api, "check the robot") || strings.Contains(api, "SECtest") || strings.Contains(api, dingtalktest.Token) {
		t.Errorf("the API shows %s", api)
	}
}

// An errcode nobody documented is retried a few times, then dead, with the code kept.
func TestRobotUnknownCodeIsRetriedAFewTimes(t *testing.T) {
	robot := dingtalktest.New(t)
	robot.SetSecret("SECtest")
	robot.Refuse(999999, "something new")
	e := newEnv(t, dingtalkConfig(robot.URL(), ""), "", true)
	e.mustPost(payload("am1", alert{name: "VPN_Down", hostgroup: "pay-vpn", instance: "10.8.0.1:443"}))
	e.settle(time.Minute, "dead after its retries", func() bool { return len(e.list(store.Dead)) == 1 })
	dead := e.list(store.Dead)[0]
	if dead.Attempts != 5 || !strings.Contains(dead.LastError, "gave up after 5 attempts: dingtalk answered code 999999 (something new)") {
		t.Fatalf("dead notification = %+v", dead)
	}
	eventually(t, "the metric", func() bool {
		return e.counter("alertrouter_notifications_failed_total", "reason", "exhausted") == 1 &&
			e.counter("alertrouter_notifications_failed_total", "reason", "retryable") == 4
	})
}
