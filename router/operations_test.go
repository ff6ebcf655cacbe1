package router

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/alertrouter/alertrouter/receivers/webhook/webhooktest"
	"github.com/alertrouter/alertrouter/store"
)

// pageHas gets path and checks its status and that it holds each of want.
func (b *browser) pageHas(t *testing.T, path string, code int, want ...string) string {
	t.Helper()
	resp, body := b.get(path)
	if resp.StatusCode != code {
		t.Errorf("%s: %d, want %d\n%s", path, resp.StatusCode, code, body)
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", path, w)
		}
	}
	return body
}

// apiData gets path and decodes the answer's data into v.
func (b *browser) apiData(t *testing.T, path string, code int, v any) {
	t.Helper()
	resp, body := b.get(path)
	if resp.StatusCode != code {
		t.Fatalf("%s: %d, want %d\n%s", path, resp.StatusCode, code, body)
	}
	var r struct{ Data json.RawMessage }
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, body)
	}
	if v != nil {
		if err := json.Unmarshal(r.Data, v); err != nil {
			t.Fatalf("%s: %v\n%s", path, err, body)
		}
	}
}

// The overview counts what each receiver and host group sent, lost and holds, shows the
// last errors and draws the hours; the API answers the same.
func TestOverview(t *testing.T) {
	e, _ := deadLetter(t, "", 1)
	e.mustPost(payload("am1", alert{name: "NginxDown", hostgroup: "edge", instance: "n1"}))
	eventually(t, "the second one sent", func() bool { return len(e.list(store.Sent)) == 1 })
	b := newBrowser(t, e.http.URL)
	b.pageHas(t, "/", http.StatusOK, `id="overview"`, ">gpu-1</a>", ">edge</a>", `num state-dead">1<`, "401", "<rect", `id="chart-week"`)

	var o overview
	b.apiData(t, "/api/v1/overview", http.StatusOK, &o)
	byGroup := map[string]overviewRow{}
	for _, r := range o.Rows {
		byGroup[r.Hostgroup] = r
	}
	if g := byGroup["gpu-1"]; g.Receiver != "hook" || g.DeadHour != 1 || g.DeadDay != 1 || g.SentDay != 0 || g.Pending != 0 {
		t.Errorf("gpu-1: %+v", g)
	}
	if g := byGroup["edge"]; g.SentHour != 1 || g.SentDay != 1 || g.DeadDay != 0 {
		t.Errorf("edge: %+v", g)
	}
	if len(o.Errors) != 1 || o.Errors[0].Receiver != "hook" || !strings.Contains(o.Errors[0].Error, "401") {
		t.Errorf("last errors: %+v", o.Errors)
	}
	hours := map[string]int{}
	for _, h := range o.Day {
		hours[h.Status] += h.Count
	}
	if hours["dead"] != 1 || hours["sent"] != 1 || len(o.Week) != len(o.Day) {
		t.Errorf("hourly: %+v / %+v", o.Day, o.Week)
	}
}

// The routing page shows the running config without its secrets, and routes the labels
// it is given as `alertrouter route test` does.
func TestRoutingPageAndRouteTester(t *testing.T) {
	e := newEnv(t, `receivers:
  - name: gpu-team
    slack:
      webhook_url: https://hooks.slack.com/services/T0/B0/very-secret-token
  - name: ops
    log: {}
routes:
  - hostgroup_regex: 'gpu-.+'
    receivers: [gpu-team]
default_receivers: [ops]
`, "", false)
	b := newBrowser(t, e.http.URL)
	body := b.pageHas(t, "/routing?labels="+url.QueryEscape("alertname=GPUDown\nhostgroup=gpu-7"), http.StatusOK,
		`id="route-result"`, "receiver:  gpu-team (via ", `id="config"`, "gpu-.&#43;", "&lt;secret&gt;")
	if strings.Contains(body, "very-secret-token") {
		t.Error("the routing page shows a secret")
	}
	b.pageHas(t, "/routing?labels="+url.QueryEscape("alertname=Lost"), http.StatusOK, "receiver:  ops (via default", "(no hostgroup)")
	b.pageHas(t, "/routing?labels="+url.QueryEscape("alertname~=x"), http.StatusBadRequest, `id="route-error"`, "want name=value")

	var rt routeTest
	b.apiData(t, "/api/v1/route?label=alertname=GPUDown&label=hostgroup=gpu-7", http.StatusOK, &rt)
	if len(rt.Receivers) != 1 || rt.Receivers[0].Receiver != "gpu-team" || rt.Labels["hostgroup"] != "gpu-7" {
		t.Errorf("route test: %+v", rt)
	}
	b.apiData(t, "/api/v1/route", http.StatusBadRequest, nil)
	var cfg map[string]string
	b.apiData(t, "/api/v1/config", http.StatusOK, &cfg)
	if !strings.Contains(cfg["yaml"], "gpu-team") || strings.Contains(cfg["yaml"], "very-secret-token") {
		t.Errorf("config: %s", cfg["yaml"])
	}
}

// The receivers page shows each receiver's day, previews a stored notification with its
// templates, and sends a test (an operator's act, in the audit log).
func TestReceiversPagePreviewAndSendTest(t *testing.T) {
	tg := webhooktest.New(t)
	e := newEnv(t, hookConfig(tg.URL()), "", true)
	e.mustPost(payload("am1", alert{name: "GPUDown", hostgroup: "gpu-1", instance: "i1"}))
	eventually(t, "sent", func() bool { return len(e.list(store.Sent)) == 1 })
	id := e.list(store.Sent)[0].ID
	b := newBrowser(t, e.http.URL)
	b.pageHas(t, "/receivers", http.StatusOK, `id="receivers"`, "<td>webhook</td>", `data-receiver="hook"`)

	b.pageHas(t, "/receivers?receiver=hook&notification="+strconv.FormatInt(id, 10), http.StatusOK, `id="preview-result"`, "GPUDown")
	var p preview
	b.apiData(t, "/api/v1/receivers/hook/preview?notification="+strconv.FormatInt(id, 10), http.StatusOK, &p)
	if p.Receiver != "hook" || !strings.Contains(p.Rendered, `"alertname":"GPUDown"`) {
		t.Errorf("preview: %+v", p)
	}
	b.apiData(t, "/api/v1/receivers/hook/preview?notification=x", http.StatusBadRequest, nil)
	b.apiData(t, "/api/v1/receivers/hook/preview?notification=99999", http.StatusNotFound, nil)
	b.apiData(t, "/api/v1/receivers/nobody/preview?notification="+strconv.FormatInt(id, 10), http.StatusUnprocessableEntity, nil)

	resp, _ := b.post("/receivers/hook/test", url.Values{"status": {"resolved"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("send test: %d", resp.StatusCode)
	}
	b.pageHas(t, resp.Header.Get("Location"), http.StatusOK, `id="flash"`, "hook accepted a test notification.")
	if n := len(tg.Payloads()); n != 2 || tg.Payloads()[1].Status != "resolved" {
		t.Fatalf("the target got %d payloads, want the alert and the resolved test", n)
	}
	tg.Script(webhooktest.Status(http.StatusInternalServerError))
	if resp, body := b.post("/api/v1/receivers/hook/test", nil, nil); resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "500") {
		t.Errorf("a failed test: %d %s", resp.StatusCode, body)
	}
	b.pageHas(t, "/audit", http.StatusOK, "receiver.send-test", "hook (resolved)", "hook (firing)", "500")
}

// The watchdog page shows targets and heartbeats, or says the watchdog is off.
func TestWatchdogPage(t *testing.T) {
	e := newEnv(t, heartbeatCfg, "", false)
	e.mustPost(payload("am-a", alert{name: "Watchdog", hostgroup: "monitoring", extra: map[string]string{"replica": "a"}}))
	b := newBrowser(t, e.http.URL)
	b.pageHas(t, "/watchdog", http.StatusOK, `id="watchdog-heartbeats"`, "<td>a</td>", "on time", `id="watchdog-events"`)
	plain := newEnv(t, "receivers:\n  - name: ops\n    log: {}\ndefault_receivers: [ops]\n", "", false)
	newBrowser(t, plain.http.URL).pageHas(t, "/watchdog", http.StatusOK, `id="watchdog-off"`)
}

// The console speaks Chinese when the browser asks for it or the switch is used, and the
// switch is remembered.
func TestConsoleLanguage(t *testing.T) {
	e := newEnv(t, "receivers:\n  - name: ops\n    log: {}\ndefault_receivers: [ops]\n", "", false)
	b := newBrowser(t, e.http.URL)
	b.pageHas(t, "/", http.StatusOK, "<h1>Overview</h1>", `lang="en"`)
	b.pageHas(t, "/?lang=zh", http.StatusOK, "<h1>概览</h1>", `lang="zh-CN"`, "按接收者和主机组")
	b.pageHas(t, "/receivers", http.StatusOK, "<h1>接收者</h1>")
	b.pageHas(t, "/?lang=en", http.StatusOK, "<h1>Overview</h1>")

	req, _ := http.NewRequest(http.MethodGet, e.http.URL+"/", nil)
	req.Header.Set("Accept-Language", "zh-CN,zh;q=0.9,en;q=0.5")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(page), "<h1>概览</h1>") {
		t.Error("Accept-Language zh-CN does not give the Chinese console")
	}
}

// A store that fails its reads gets every page and API answer a 503 that says so, without
// the database's own words, and nothing changes; the console comes back with the store.
func TestConsoleSaysWhenTheStoreFails(t *testing.T) {
	e, id := deadLetter(t, "", 1)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(e.dir, store.FileName)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`ALTER TABLE notifications RENAME TO notifications_away`); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, e.http.URL)
	ids := strconv.FormatInt(id, 10)
	for _, path := range []string{"/", "/notifications", "/dead", "/notifications/" + ids, "/receivers", "/alerts/0123456789abcdef",
		"/api/v1/overview", "/api/v1/notifications", "/api/v1/notifications/" + ids, "/api/v1/receivers", "/api/v1/dead"} {
		resp, body := b.get(path)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "store unavailable") || strings.Contains(body, "no such table") {
			t.Errorf("%s with the store failing: %d\n%s", path, resp.StatusCode, body)
		}
	}
	if resp, body := b.post("/api/v1/dead/retry", url.Values{"id": {ids}}, nil); resp.StatusCode != http.StatusServiceUnavailable || strings.Contains(body, "no such table") {
		t.Errorf("a retry with the store failing: %d %s", resp.StatusCode, body)
	}
	if _, err := db.Exec(`ALTER TABLE notifications_away RENAME TO notifications`); err != nil {
		t.Fatal(err)
	}
	if n, ok, err := e.store.Notification(context.Background(), id); err != nil || !ok || n.State != store.Dead || n.RetriedAs != 0 {
		t.Fatalf("after the failed retry: %+v %v %v", n, ok, err)
	}
	b.pageHas(t, "/dead", http.StatusOK, "GPUDown")
}

// The running config shows no credential of the console either: no password hash, no
// token.
func TestRoutingPageHidesLogins(t *testing.T) {
	e := newEnv(t, authConfig(t, ""), "", false)
	b := newBrowser(t, e.http.URL)
	if resp, _ := b.login("vera", "vera-pw"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	body := b.pageHas(t, "/routing", http.StatusOK, "grafana", "&lt;secret&gt;")
	var cfg map[string]string
	b.apiData(t, "/api/v1/config", http.StatusOK, &cfg)
	for _, secret := range []string{"viewer-token-1234", "admin-token-5678", "file-token-of-otto-bot", "$2a$"} {
		if strings.Contains(body, secret) || strings.Contains(cfg["yaml"], secret) {
			t.Errorf("the running config shows %q", secret)
		}
	}
}

// Nor does it show a webhook's header values (API keys, Authorization) or the password in
// a watchdog target's URL, which a viewer would otherwise read.
func TestRunningConfigHidesHeadersAndTargetPasswords(t *testing.T) {
	e := newEnv(t, `
receivers:
  - name: hook
    webhook:
      url: http://127.0.0.1:1/hook
      headers: {Authorization: 'Basic c2VjcmV0LWhlYWRlcg==', X-Api-Key: 'sk-live-0123456789'}
default_receivers: [hook]
watchdog:
  receivers: [hook]
  prometheus:
    - {name: prom, url: 'http://scrape:prom-password-42@127.0.0.1:1'}
`, "", false)
	b := newBrowser(t, e.http.URL)
	body := b.pageHas(t, "/routing", http.StatusOK, "X-Api-Key", "scrape:xxxxx@127.0.0.1:1")
	var cfg map[string]string
	b.apiData(t, "/api/v1/config", http.StatusOK, &cfg)
	for _, secret := range []string{"c2VjcmV0LWhlYWRlcg==", "sk-live-0123456789", "prom-password-42"} {
		if strings.Contains(body, secret) || strings.Contains(cfg["yaml"], secret) {
			t.Errorf("the running config shows %q", secret)
		}
	}
}
