package router

// Delivery through the whole server: webhooks in, the dispatcher (package dispatch) out,
// on a real SQLite file and a fake clock.

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alertrouter/alertrouter/receivers/receivertest"
	"github.com/alertrouter/alertrouter/receivers/webhook/webhooktest"
	"github.com/alertrouter/alertrouter/store"
)

func hookConfig(url string) string {
	return `
global:
  max_retry_age: 1h
receivers:
  - name: hook
    webhook:
      url: ` + url + `
      max_alerts: 1
routes:
  - hostgroup_regex: '.+'
    receivers: [hook]
default_receivers: [hook]
`
}

// settle advances the fake clock in steps, waking the workers each time, until cond holds.
func (e *env) settle(step time.Duration, what string, cond func() bool) {
	e.t.Helper()
	eventually(e.t, what, func() bool {
		if cond() {
			return true
		}
		e.clock.Add(step)
		e.wake()
		time.Sleep(2 * time.Millisecond)
		return cond()
	})
}

func TestDeliversWebhookPayload(t *testing.T) {
	tg := webhooktest.New(t)
	e := newEnv(t, hookConfig(tg.URL()+"/hook"), "", true)
	e.mustPost(payload("am1", alert{name: "A", hostgroup: "gpu-1", instance: "i1"}, alert{name: "B", hostgroup: "gpu-1", instance: "i2"}))
	eventually(t, "delivery", func() bool { return len(tg.Payloads()) == 1 })
	p := tg.Payloads()[0]
	if p.Version != "4" || p.Receiver != "hook" || p.Status != "firing" || len(p.Alerts) != 1 || p.TruncatedAlerts != 1 {
		t.Fatalf("payload = %+v (max_alerts: 1 must truncate to one alert)", p)
	}
	if p.GroupLabels["hostgroup"] != "gpu-1" || p.GroupKey != `alertrouter/routes[0]:{hostgroup="gpu-1"}` || p.ExternalURL != "http://am1:9093" {
		t.Fatalf("payload = %+v", p)
	}
	if p.CommonLabels["hostgroup"] != "gpu-1" || p.CommonLabels["instance"] != "" {
		t.Fatalf("commonLabels = %v", p.CommonLabels)
	}
	if id := tg.Requests()[0].Header.Get("X-Alertrouter-Notification-Id"); id == "" {
		t.Fatal("no notification id header")
	}
	// The metric follows the store write: wait for both.
	eventually(t, "sent state and metric", func() bool {
		return len(e.list(store.Sent)) == 1 && e.counter("alertrouter_notifications_sent_total", "receiver", "hook") == 1
	})
}

func TestRetriesUntilDelivered(t *testing.T) {
	tg := webhooktest.New(t)
	tg.Script(webhooktest.Status(500), webhooktest.Status(503), webhooktest.Status(408))
	e := newEnv(t, hookConfig(tg.URL()), "", true)
	e.mustPost(payload("am1", alert{name: "A", hostgroup: "gpu-1", instance: "i1"}))
	e.settle(5*time.Second, "delivery after 3 failures", func() bool { return len(tg.Payloads()) == 1 })
	eventually(t, "sent state", func() bool { return len(e.list(store.Sent)) == 1 })
	n := e.list(store.Sent)[0]
	if n.Attempts != 4 || n.LastError != "" {
		t.Fatalf("notification = %+v, want 4 attempts", n)
	}
	if c := e.counter("alertrouter_notifications_failed_total", "receiver", "hook"); c != 3 {
		t.Errorf("failed_total = %v, want 3", c)
	}
}

func TestPermanentErrorIsDeadAndReleasesClaim(t *testing.T) {
	tg := webhooktest.New(t)
	tg.Script(webhooktest.Status(400))
	e := newEnv(t, hookConfig(tg.URL()), "", true)
	a := alert{name: "A", hostgroup: "gpu-1", instance: "i1"}
	e.mustPost(payload("am1", a))
	eventually(t, "dead state", func() bool { return len(e.list(store.Dead)) == 1 })
	n := e.list(store.Dead)[0]
	if n.Attempts != 1 || n.LastError != "unexpected status code 400: scripted failure" {
		t.Fatalf("dead notification = %+v", n)
	}
	eventually(t, "dead_total", func() bool { return e.counter("alertrouter_notifications_dead_total", "receiver", "hook") == 1 })
	// The claim was released: Alertmanager's next repeat is delivered.
	if res := e.mustPost(payload("am1", a)); res.Notifications != 1 {
		t.Fatalf("repeat after a dead notification: %+v", res)
	}
	eventually(t, "redelivery", func() bool { return len(tg.Payloads()) == 1 })
	r := e.do(http.MethodGet, "/api/v1/notifications?status=dead", "", nil, nil)
	if !strings.Contains(r.Raw, `"lastError":"unexpected status code 400: scripted failure"`) {
		t.Errorf("API does not show the dead notification's error: %s", r.Raw)
	}
}

func TestThrottledWaitsRetryAfterWithoutCountingAFailure(t *testing.T) {
	tg := webhooktest.New(t)
	tg.Script(webhooktest.Status(429, "Retry-After", "30"), webhooktest.Status(429, "Retry-After", "30"))
	e := newEnv(t, hookConfig(tg.URL()), "", true)
	e.mustPost(payload("am1", alert{name: "A", hostgroup: "gpu-1", instance: "i1"}))
	eventually(t, "first throttle", func() bool { return e.counter("alertrouter_notifications_throttled_total") == 1 })
	p := e.list(store.Pending)
	if len(p) != 1 || p[0].Attempts != 0 || !p[0].NextAttemptAt.Equal(testStart.Add(30*time.Second)) {
		t.Fatalf("after a 429 with Retry-After: 30: %+v", p)
	}
	e.settle(10*time.Second, "delivery after throttling", func() bool { return len(tg.Payloads()) == 1 })
	if c := e.counter("alertrouter_notifications_failed_total"); c != 0 {
		t.Errorf("throttling counted as %v failures", c)
	}
	if c := e.counter("alertrouter_notifications_throttled_total"); c != 2 {
		t.Errorf("throttled_total = %v, want 2", c)
	}
}

func TestGivesUpAfterMaxRetryAge(t *testing.T) {
	tg := webhooktest.New(t)
	for range 100 {
		tg.Script(webhooktest.Status(502))
	}
	e := newEnv(t, hookConfig(tg.URL()), "", true)
	e.mustPost(payload("am1", alert{name: "A", hostgroup: "gpu-1", instance: "i1"}))
	e.settle(time.Minute, "dead after max_retry_age", func() bool { return len(e.list(store.Dead)) == 1 })
	n := e.list(store.Dead)[0]
	if !strings.HasPrefix(n.LastError, "gave up after max_retry_age (1h): unexpected status code 502") {
		t.Fatalf("last error = %q", n.LastError)
	}
	if age := n.UpdatedAt.Sub(n.CreatedAt); age < time.Hour || age > time.Hour+6*time.Minute {
		t.Fatalf("gave up after %s, want just past 1h", age)
	}
}

func TestErrorsDoNotLeakSecretURL(t *testing.T) {
	// A closed port: the client error would quote the URL, token and all.
	ln := httptest.NewServer(http.NotFoundHandler())
	url := ln.URL + "/hooks/T000/B000/XXXXtok3nXXXX"
	ln.Close()
	e := newEnv(t, hookConfig(url), "", true)
	e.mustPost(payload("am1", alert{name: "A", hostgroup: "gpu-1", instance: "i1"}))
	eventually(t, "a failed attempt", func() bool { return e.counter("alertrouter_notifications_failed_total") >= 1 })
	p := e.list(store.Pending)
	if len(p) != 1 || !strings.Contains(p[0].LastError, "<redacted>") {
		t.Fatalf("pending = %+v", p)
	}
	api := e.do(http.MethodGet, "/api/v1/notifications", "", nil, nil).Raw
	metrics := e.do(http.MethodGet, "/metrics", "", nil, nil).Raw
	for where, text := range map[string]string{"last_error": p[0].LastError, "logs": e.logs.String(), "API": api, "metrics": metrics} {
		if strings.Contains(text, "tok3n") {
			t.Errorf("secret URL leaked into %s: %s", where, text)
		}
	}
}

func TestShutdownWaitsForTheDeliveryInFlight(t *testing.T) {
	tg := webhooktest.New(t)
	release := tg.Block()
	e := newEnv(t, hookConfig(tg.URL()), "", true)
	e.mustPost(payload("am1", alert{name: "A", hostgroup: "gpu-1", instance: "i1"}))
	eventually(t, "delivery in flight", func() bool {
		return e.counter("alertrouter_notifications_sent_total") == 0 && len(e.list(store.Pending)) == 1
	})
	time.Sleep(50 * time.Millisecond) // let the worker reach the target
	e.stop()
	select {
	case <-e.done:
		t.Fatal("Run returned while a delivery was in flight")
	case <-time.After(100 * time.Millisecond):
	}
	release()
	<-e.done
	if len(e.list(store.Sent)) != 1 {
		t.Fatalf("the in-flight delivery was not recorded: %+v", e.list(""))
	}
}

func TestPendingWorkResumesAfterRestart(t *testing.T) {
	tg := webhooktest.New(t)
	dir := t.TempDir()
	e := newEnv(t, hookConfig(tg.URL()), dir, false) // accepts, never delivers
	e.mustPost(payload("am1", alert{name: "A", hostgroup: "gpu-1", instance: "i1"}, alert{name: "B", hostgroup: "gpu-2", instance: "i1"}))
	e.Close()
	newEnv(t, hookConfig(tg.URL()), dir, true)
	eventually(t, "both notifications after restart", func() bool { return len(tg.Payloads()) == 2 })
}

func TestJanitorPrunesAndExpires(t *testing.T) {
	e := newEnv(t, logConfig, "", false)
	e.mustPost(payload("am1", alert{name: "A", hostgroup: "gpu-1", instance: "i1"}))
	ns := e.list(store.Pending)
	if err := e.store.MarkSent(context.Background(), ns[0].ID, "", e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	// A notification for a receiver that a reload removed: no worker will ever take it.
	if err := e.store.Update(context.Background(), func(tx *store.Tx) error {
		_, err := tx.Enqueue(store.NewNotification{Receiver: "removed", Route: "routes[9]", Hostgroup: "x", Status: "firing", AlertNames: []string{"B"}, AlertCount: 1}, []byte(`{}`), e.clock.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}

	e.clock.Add(24*time.Hour + time.Second) // past max_retry_age
	e.srv.dispatcher.Tidy(context.Background())
	dead := e.list(store.Dead)
	if len(dead) != 1 || dead[0].Receiver != "removed" || dead[0].LastError != "gave up after max_retry_age (1d): receiver is not configured" {
		t.Fatalf("dead = %+v", dead)
	}
	if c := e.counter("alertrouter_notifications_dead_total", "receiver", "removed"); c != 1 {
		t.Errorf("dead_total{removed} = %v", c)
	}
	if len(e.list(store.Sent)) != 1 {
		t.Fatal("sent notification pruned before retention")
	}

	e.clock.Add(168*time.Hour + time.Second) // past retention
	e.srv.dispatcher.Tidy(context.Background())
	if all := e.list(""); len(all) != 0 {
		t.Fatalf("rows past retention were kept: %+v", all)
	}
	// Claims went with them: the alert is new again.
	if res := e.mustPost(payload("am1", alert{name: "A", hostgroup: "gpu-1", instance: "i1"})); res.Notifications != 1 {
		t.Fatalf("after pruning: %+v", res)
	}
}

// When the store cannot record outcomes (a full disk still answers reads), the dispatcher
// must pause instead of delivering the same notification in a loop.
func TestStoreWriteFailureDoesNotFloodTheReceiver(t *testing.T) {
	tg := webhooktest.New(t)
	e := newEnv(t, hookConfig(tg.URL()), "", true)
	// Every update of a notification fails, as on a full disk; accepting only inserts.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(e.dir, store.FileName)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER full BEFORE UPDATE ON notifications BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	e.mustPost(payload("am1", alert{name: "A", hostgroup: "gpu-1", instance: "i1"}))
	eventually(t, "the first delivery", func() bool { return len(tg.Payloads()) >= 1 })
	time.Sleep(300 * time.Millisecond) // the fake clock is frozen: no pause can end
	if n := len(tg.Payloads()); n != 1 {
		t.Fatalf("delivered %d times while its outcome could not be recorded, want 1", n)
	}
	eventually(t, "the store failure in the log", func() bool { return strings.Contains(e.logs.String(), "Cannot record deliveries") })
}

// While recording "sent" keeps failing, the delivery is not repeated as the pauses end:
// once the store works again it is recorded, and the destination got it once.
func TestUnrecordedDeliveryIsRecordedNotResent(t *testing.T) {
	tg := webhooktest.New(t)
	e := newEnv(t, hookConfig(tg.URL()), "", true)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(e.dir, store.FileName)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER full BEFORE UPDATE ON notifications BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	e.mustPost(payload("am1", alert{name: "A", hostgroup: "gpu-1", instance: "i1"}))
	eventually(t, "the first delivery", func() bool { return len(tg.Payloads()) >= 1 })
	attempts := func() int { return strings.Count(e.logs.String(), "Cannot record deliveries") }
	// Let six pauses end: each ends in another try to record, never in another delivery.
	e.settle(time.Minute, "six tries to record the delivery", func() bool { return attempts() >= 6 })
	if n := len(tg.Payloads()); n != 1 {
		t.Fatalf("delivered %d times while its outcome could not be recorded, want 1", n)
	}
	if _, err := db.Exec(`DROP TRIGGER full`); err != nil {
		t.Fatal(err)
	}
	e.settle(time.Minute, "the delivery recorded", func() bool { return len(e.list(store.Sent)) == 1 })
	if n := len(tg.Payloads()); n != 1 {
		t.Fatalf("delivered %d times in all, want 1", n)
	}
	eventually(t, "sent_total", func() bool { return e.counter("alertrouter_notifications_sent_total", "receiver", "hook") == 1 })
}

// A trickle of notifications is read, sent and recorded some at a time, not one by one
// (dispatch's readInterval: a worker reads its due rows at most every 10 ms while they
// come in a trickle). Each record is one transaction, which stamps what it records with
// one time; the clock moves between webhooks, so that one by one would stamp each apart.
func TestATrickleIsDeliveredSomeAtATime(t *testing.T) {
	tg := webhooktest.New(t)
	e := newEnv(t, hookConfig(tg.URL()), "", true)
	const n = 40
	start := time.Now()
	for i := range n {
		e.mustPost(payload("am1", alert{name: "A", hostgroup: "gpu-1", instance: fmt.Sprint("i", i)}))
		e.clock.Add(time.Millisecond)
	}
	eventually(t, "every notification sent", func() bool { return len(e.list(store.Sent)) == n })
	took := time.Since(start)
	stamps := map[time.Time]bool{}
	for _, sent := range e.list(store.Sent) {
		stamps[sent.SentAt] = true
	}
	// At most a read every 10 ms, and the first at once.
	if most := int(took/(10*time.Millisecond)) + 1; len(stamps) > most {
		t.Fatalf("%d notifications that came in %v were recorded in %d transactions, want at most %d", n, took, len(stamps), most)
	}
	if len(tg.Payloads()) != n {
		t.Fatalf("delivered %d, want %d", len(tg.Payloads()), n)
	}
}

// A resolution never overtakes its firing, even when the firing needs a retry.
func TestResolvedNeverOvertakesItsFiring(t *testing.T) {
	tg := webhooktest.New(t)
	tg.Script(webhooktest.Status(503))
	e := newEnv(t, hookConfig(tg.URL()), "", true)
	a := alert{name: "A", hostgroup: "gpu-1", instance: "i1"}
	e.mustPost(payload("am1", a))
	eventually(t, "the first failure", func() bool { return e.counter("alertrouter_notifications_failed_total") == 1 })
	a.status = "resolved"
	e.mustPost(payload("am1", a))
	e.wake()
	time.Sleep(50 * time.Millisecond)
	if got := tg.Payloads(); len(got) != 0 {
		t.Fatalf("the resolution went out while its firing waited for a retry: %+v", got)
	}
	e.settle(500*time.Millisecond, "both delivered", func() bool { return len(tg.Payloads()) == 2 })
	if got := tg.Payloads(); got[0].Status != "firing" || got[1].Status != "resolved" {
		t.Fatalf("order: %s then %s", got[0].Status, got[1].Status)
	}
}

func TestSlackThroughTheDispatcher(t *testing.T) {
	tg := webhooktest.New(t)
	tg.Script(webhooktest.Status(429, "Retry-After", "20"))
	e := newEnv(t, `
receivers:
  - name: ops-slack
    slack:
      webhook_url: `+tg.URL()+`/services/T0/B0/s3cr3t
      rate_limit: 10
      burst: 1
routes:
  - hostgroup_regex: '.+'
    receivers: [ops-slack]
default_receivers: [ops-slack]
`, "", true)
	for i := range 3 {
		e.mustPost(payload("am1", alert{name: "A", hostgroup: fmt.Sprintf("gpu-%d", i), instance: "i1"}))
	}
	e.settle(5*time.Second, "three messages after the 429", func() bool { return len(tg.Payloads()) == 3 })
	if w := e.counter("alertrouter_receiver_wait_seconds_total", "receiver", "ops-slack", "reason", "retry_after"); w != 20 {
		t.Errorf("retry_after wait = %v, want 20", w)
	}
	eventually(t, "paced waits", func() bool {
		return e.counter("alertrouter_receiver_wait_seconds_total", "receiver", "ops-slack", "reason", "rate_limit") > 0
	})
	receivertest.NoSecrets(t, "logs and API", e.logs.String()+e.do(http.MethodGet, "/api/v1/notifications", "", nil, nil).Raw, "s3cr3t")
}

// A destination that echoes the request in its error page: its answer is kept as the
// notification's last error, in the API and the logs, without the URL's tokens.
func TestEchoedErrorsDoNotLeakIntoTheAPIOrLogs(t *testing.T) {
	echo := receivertest.Echo(t)
	secrets := []string{"p4thT0ken", "qu3ryT0ken", "d1ngT0ken", "d1ngS3cret", "w3comK3y", "f3ishuT0ken", "f3ishuS3cret"}
	for _, tc := range []struct{ name, receiver string }{
		{"webhook", "webhook:\n      url: " + echo.URL + "/hook/p4thT0kenp4thT0ken?token=qu3ryT0ken"},
		{"slack", "slack:\n      webhook_url: " + echo.URL + "/services/T0/B0/p4thT0kenp4thT0ken"},
		{"dingtalk", "dingtalk:\n      webhook_url: " + echo.URL + "/robot/send?access_token=d1ngT0kend1ngT0ken\n      secret: SECd1ngS3cret"},
		{"wecom", "wecom:\n      webhook_url: " + echo.URL + "/cgi-bin/webhook/send?key=w3comK3y-w3comK3y"},
		{"feishu", "feishu:\n      webhook_url: " + echo.URL + "/open-apis/bot/v2/hook/f3ishuT0kenf3ishuT0ken\n      secret: f3ishuS3cret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, `
receivers:
  - name: leaky
    `+tc.receiver+`
routes:
  - hostgroup_regex: '.+'
    receivers: [leaky]
default_receivers: [leaky]
`, "", true)
			e.mustPost(payload("am1", alert{name: "A", hostgroup: "gpu-1", instance: "i1"}))
			eventually(t, "the dead notification", func() bool { return len(e.list(store.Dead)) == 1 })
			dead := e.list(store.Dead)[0]
			if !strings.Contains(dead.LastError, "404") {
				t.Fatalf("last error %q, want the echoed 404 page", dead.LastError)
			}
			api := e.do(http.MethodGet, "/api/v1/notifications", "", nil, nil).Raw
			metrics := e.do(http.MethodGet, "/metrics", "", nil, nil).Raw
			receivertest.NoSecrets(t, "API, metrics and logs", api+metrics+e.logs.String(), secrets...)
		})
	}
}
