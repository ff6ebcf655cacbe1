package router

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/alertrouter/alertrouter/receivers/webhook/webhooktest"
	"github.com/alertrouter/alertrouter/store"
)

// deadLetter makes a dead notification: its receiver refuses it for good (and refuses
// the next refusals more).
func deadLetter(t *testing.T, extra string, refusals int) (*env, int64) {
	t.Helper()
	tg := webhooktest.New(t)
	for range refusals {
		tg.Script(webhooktest.Status(http.StatusUnauthorized))
	}
	e := newEnv(t, hookConfig(tg.URL())+extra, "", true)
	e.mustPost(payload("am1", alert{name: "GPUDown", hostgroup: "gpu-1", instance: "i1"}))
	eventually(t, "a dead letter", func() bool { return len(e.list(store.Dead)) == 1 })
	return e, e.list(store.Dead)[0].ID
}

// The console's pages render what the store holds: a notification's page shows where it
// came from, its timeline with the failed attempt, its alerts and its message as the
// receiver renders it.
func TestConsolePagesShowANotification(t *testing.T) {
	e, id := deadLetter(t, "", 1)
	b := newBrowser(t, e.http.URL)
	for path, want := range map[string][]string{
		"/":                          {"Overview"},
		"/notifications":             {"GPUDown", "hook", "gpu-1", "state-dead"},
		"/notifications?status=sent": {"Nothing here."},
		"/notifications?match=instance%3D%22i1%22": {"GPUDown"},
		"/notifications?match=instance%3D%22i2%22": {"Nothing here."},
		"/dead": {"GPUDown", `name="id" value="` + strconv.FormatInt(id, 10)},
		"/notifications/" + strconv.FormatInt(id, 10): {"http://am1:9093", "accepted", "401", "instance", "i1", `id="rendered"`, `&#34;alertname&#34;:&#34;GPUDown&#34;`, `id="retry"`},
	} {
		resp, body := b.get(path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d\n%s", path, resp.StatusCode, body)
			continue
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %q", path, w)
			}
		}
	}
	if resp, body := b.get("/notifications?since=yesterday"); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "since: want an RFC 3339 time") {
		t.Errorf("a bad filter: %d", resp.StatusCode)
	}
	if resp, _ := b.get("/notifications/999999"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a notification that does not exist: %d", resp.StatusCode)
	}
}

// A dead letter retried from the console is enqueued again as a new notification, and the
// action is in the audit log; one discarded leaves the list; neither can happen twice.
func TestDeadLettersRetryAndDiscard(t *testing.T) {
	e, id := deadLetter(t, "", 2)
	b := newBrowser(t, e.http.URL)
	_, page := b.get("/dead")
	csrf := csrfField.FindStringSubmatch(page)
	if csrf != nil {
		t.Fatalf("a session-less page carries a CSRF token: %v", csrf)
	}
	resp, _ := b.post("/dead/retry", url.Values{"id": {strconv.FormatInt(id, 10)}}, nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "/notifications/") {
		t.Fatalf("retry: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	old, _, _ := e.store.Notification(context.Background(), id)
	if old.RetriedAs == 0 {
		t.Fatal("the dead letter does not point at its retry")
	}
	// The receiver still refuses: the retry dies too, and is a dead letter of its own.
	eventually(t, "the retry to die", func() bool {
		n, _, _ := e.store.Notification(context.Background(), old.RetriedAs)
		return n.State == store.Dead
	})
	var res struct {
		Data deadLetterAction `json:"data"`
	}
	r := e.do(http.MethodPost, "/api/v1/notifications/"+strconv.FormatInt(id, 10)+"/retry", "", nil, nil)
	if err := json.Unmarshal([]byte(r.Raw), &res); err != nil || r.Code != http.StatusOK || len(res.Data.Done) != 0 || len(res.Data.Failed) != 1 {
		t.Fatalf("second retry of the same dead letter: %d %s", r.Code, r.Raw)
	}
	r = e.do(http.MethodPost, "/api/v1/dead/discard?receiver=hook", "", nil, nil)
	if err := json.Unmarshal([]byte(r.Raw), &res); err != nil || r.Code != http.StatusOK || len(res.Data.Done) != 1 || res.Data.Done[0] != old.RetriedAs {
		t.Fatalf("discard by filter: %d %s", r.Code, r.Raw)
	}
	if _, body := b.get("/dead"); strings.Contains(body, "GPUDown") {
		t.Fatal("the dead letters still list what was retried and discarded")
	}
	_, audit := b.get("/api/v1/audit")
	for _, want := range []string{`"action":"notification.retry","target":"notification ` + strconv.FormatInt(id, 10) + ` (as `, `"action":"notification.discard"`, `"result":"retry notification ` + strconv.FormatInt(id, 10) + `: not a dead letter"`} {
		if !strings.Contains(audit, want) {
			t.Errorf("the audit log lacks %s:\n%s", want, audit)
		}
	}
}

// An operator may retry and discard, a viewer may look and not act: the page shows the
// buttons only to the one, and the endpoint refuses the other.
func TestDeadLetterButtonsFollowTheRole(t *testing.T) {
	e, id := deadLetter(t, strings.TrimPrefix(authConfig(t, ""), logConfig), 1)
	viewer := newBrowser(t, e.http.URL)
	if resp, _ := viewer.login("vera", "vera-pw"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	_, page := viewer.get("/notifications/" + strconv.FormatInt(id, 10))
	if strings.Contains(page, `id="retry"`) {
		t.Fatal("a viewer sees the retry button")
	}
	_, csrf := viewer.login("vera", "vera-pw")
	if resp, _ := viewer.post("/dead/retry", url.Values{"id": {strconv.FormatInt(id, 10)}, "csrf": {csrf}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a viewer's retry: %d, want 403", resp.StatusCode)
	}
	operator := newBrowser(t, e.http.URL)
	_, csrf = operator.login("otto", "otto-pw")
	_, page = operator.get("/notifications/" + strconv.FormatInt(id, 10))
	if !strings.Contains(page, `id="retry"`) {
		t.Fatal("an operator does not see the retry button")
	}
	if resp, _ := operator.post("/dead/retry", url.Values{"id": {strconv.FormatInt(id, 10)}, "csrf": {csrf}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("an operator's retry: %d", resp.StatusCode)
	}
}

// The copies that dedupe drops are on the timeline of the notification that carried the
// alert: from which Alertmanager, how many, why.
func TestTimelineShowsSuppressedCopies(t *testing.T) {
	tg := webhooktest.New(t)
	e := newEnv(t, hookConfig(tg.URL()), "", false)
	gpu := alert{name: "GPUDown", hostgroup: "gpu-1", instance: "i1"}
	e.mustPost(payload("am1", gpu))
	e.mustPost(payload("am2", gpu))
	e.mustPost(payload("am2", gpu))
	ns := e.list("")
	if len(ns) != 1 {
		t.Fatalf("%d notifications, want 1", len(ns))
	}
	b := newBrowser(t, e.http.URL)
	var d detail
	b.apiData(t, "/api/v1/notifications/"+strconv.FormatInt(ns[0].ID, 10), http.StatusOK, &d)
	var steps []string
	for _, s := range d.Timeline {
		steps = append(steps, s.Outcome)
		if s.Suppressed != nil && (s.Suppressed.Source != "http://am2:9093" || s.Suppressed.Reason != suppressDuplicate || s.Suppressed.Copies != 2 || s.Suppressed.Alerts != 2) {
			t.Errorf("suppressed: %+v", s.Suppressed)
		}
	}
	if strings.Join(steps, ",") != "accepted,suppressed" {
		t.Fatalf("timeline %v, want accepted then suppressed", steps)
	}
	b.pageHas(t, "/notifications/"+strconv.FormatInt(ns[0].ID, 10), http.StatusOK, "from http://am2:9093: webhooks 2, alerts 2", "a repeat within repeat_interval")
}

// An alert's page follows its fingerprint across receivers and episodes: what each
// receiver last got of it, and every notification that carried it, and no other alert's.
func TestAlertPage(t *testing.T) {
	e := newEnv(t, `receivers:
  - name: ops
    log: {}
  - name: gpu-team
    log: {}
routes:
  - hostgroup: gpu-1
    receivers: [ops, gpu-team]
default_receivers: [ops]
`, "", false)
	gpu := alert{name: "GPUDown", hostgroup: "gpu-1", instance: "i1"}
	e.mustPost(payload("am1", gpu, alert{name: "GPUHot", hostgroup: "gpu-1", instance: "i1"}))
	gpu.status = "resolved"
	e.mustPost(payload("am1", gpu))
	b := newBrowser(t, e.http.URL)
	var fp string
	var firing listing
	b.apiData(t, "/api/v1/notifications?alertname=GPUHot", http.StatusOK, &firing.Notifications)
	var d detail
	b.apiData(t, "/api/v1/notifications/"+strconv.FormatInt(e.list("")[0].ID, 10), http.StatusOK, &d)
	for _, a := range d.AlertList {
		if a.Labels["alertname"] == "GPUDown" {
			fp = a.Fingerprint
		}
	}
	if fp == "" || len(firing.Notifications) != 2 {
		t.Fatalf("setup: fingerprint %q, %d GPUHot notifications", fp, len(firing.Notifications))
	}

	var h alertHistory
	b.apiData(t, "/api/v1/alerts/"+fp, http.StatusOK, &h)
	got := map[string]int{}
	for _, n := range h.Notifications {
		got[n.Receiver+"/"+n.AlertStatus]++
	}
	want := map[string]int{"ops/firing": 1, "ops/resolved": 1, "gpu-team/firing": 1, "gpu-team/resolved": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the alert's notifications: %v, want %v", got, want)
	}
	if len(h.Claims) != 2 || h.Claims[0].Receiver != "gpu-team" || h.Claims[0].Status != "resolved" || h.Alert == nil || h.Alert.Labels["alertname"] != "GPUDown" {
		t.Errorf("claims %+v, alert %+v", h.Claims, h.Alert)
	}
	b.pageHas(t, "/alerts/"+fp, http.StatusOK, `id="claims"`, "gpu-team", "GPUDown", `id="notifications"`)
	b.pageHas(t, "/notifications/"+strconv.FormatInt(e.list("")[0].ID, 10), http.StatusOK, `href="/alerts/`+fp+`"`)
	b.apiData(t, "/api/v1/alerts/0123456789abcdef", http.StatusNotFound, nil)
	b.apiData(t, "/api/v1/alerts/not-a-fingerprint", http.StatusBadRequest, nil)
	b.apiData(t, "/api/v1/notifications?fingerprint="+fp, http.StatusOK, &firing.Notifications)
	if len(firing.Notifications) != 4 {
		t.Errorf("?fingerprint= lists %d notifications, want 4", len(firing.Notifications))
	}
}
