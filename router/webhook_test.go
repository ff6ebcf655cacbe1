package router

import (
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/alertrouter/alertrouter/dispatch"
	"github.com/alertrouter/alertrouter/store"
)

func TestBadInputIsRejectedAndStoresNothing(t *testing.T) {
	e := newEnv(t, logConfig, "", false)
	good := payload("am1", alert{name: "A", hostgroup: "gpu-1", instance: "i1"})
	tests := []struct {
		name        string
		method      string
		contentType string
		body        string
		wantCode    int
		wantErr     string
	}{
		{"wrong method", http.MethodGet, "", "", 405, "method GET not allowed: POST the Alertmanager webhook payload"},
		{"wrong content type", http.MethodPost, "text/plain", good, 400, `content type must be application/json, got "text/plain"`},
		{"no content type", http.MethodPost, "", good, 400, `content type must be application/json, got ""`},
		{"malformed JSON", http.MethodPost, "application/json", `{"version":"4",`, 400, "malformed JSON: unexpected end of body"},
		{"empty body", http.MethodPost, "application/json", ``, 400, "malformed JSON: empty body"},
		{"trailing data", http.MethodPost, "application/json", good + `{}`, 400, "malformed JSON: unexpected data after the payload"},
		{"wrong type", http.MethodPost, "application/json", `{"version":"4","alerts":[{"labels":"x"}]}`, 400, "malformed JSON: alerts.labels: expected object, got string"},
		{"unsupported version", http.MethodPost, "application/json", strings.Replace(good, `"version":"4"`, `"version":"3"`, 1), 422, `version: unsupported payload version "3" (want "4", as Alertmanager 0.25+ sends)`},
		{"bad status", http.MethodPost, "application/json", strings.Replace(good, `"receiver":"alertrouter","status":"firing"`, `"receiver":"alertrouter","status":"burning"`, 1), 422, `status: must be "firing" or "resolved", got "burning"`},
		{"bad alert status", http.MethodPost, "application/json", strings.Replace(good, `{"status":"firing","labels"`, `{"status":"","labels"`, 1), 422, `alerts[0].status: must be "firing" or "resolved", got ""`},
		{"missing alertname", http.MethodPost, "application/json", strings.Replace(good, `"alertname":"A",`, ``, 1), 422, "alerts[0].labels: alertname is missing"},
		{"unparseable startsAt", http.MethodPost, "application/json", strings.Replace(good, `"startsAt":"2026-11-21T07:59:00Z"`, `"startsAt":"yesterday"`, 1), 422, `alerts[0].startsAt: "yesterday" is not an RFC 3339 time`},
		{"missing startsAt", http.MethodPost, "application/json", strings.Replace(good, `"startsAt":"2026-11-21T07:59:00Z"`, `"startsAt":""`, 1), 422, `alerts[0].startsAt: missing`},
		{"unparseable endsAt", http.MethodPost, "application/json", strings.Replace(good, `"endsAt":"0001-01-01T00:00:00Z"`, `"endsAt":"soon"`, 1), 422, `alerts[0].endsAt: "soon" is not an RFC 3339 time`},
		{"no alerts", http.MethodPost, "application/json", `{"version":"4","status":"firing","alerts":[]}`, 422, "alerts: no alerts in payload"},
		{"too large", http.MethodPost, "application/json", `{"version":"4","groupKey":"` + strings.Repeat("x", 11<<20) + `"}`, 413, "request body exceeds 10485760 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.method, "/webhook", tt.contentType, strings.NewReader(tt.body), nil)
			if r.Code != tt.wantCode || r.Body.Status != "error" || r.Body.Error != tt.wantErr {
				t.Fatalf("got %d %s\nwant %d error %q", r.Code, r.Raw, tt.wantCode, tt.wantErr)
			}
		})
	}
	if n := e.list(""); len(n) != 0 {
		t.Fatalf("bad input stored %d notifications", len(n))
	}
	if got := e.counter("alertrouter_webhook_requests_total", "code", "422"); got != 8 {
		t.Errorf("webhook_requests_total{code=422} = %v, want 8", got)
	}
	// And the router still works.
	if res := e.mustPost(good); res.Notifications != 1 {
		t.Fatalf("good payload after bad ones: %+v", res)
	}
}

func TestGroupsPerReceiverHostgroupAndStatus(t *testing.T) {
	e := newEnv(t, logConfig, "", false)
	res := e.mustPost(payload("am1",
		alert{name: "A", hostgroup: "gpu-1", instance: "i1"},
		alert{name: "B", hostgroup: "gpu-1", instance: "i2"},
		alert{name: "A", hostgroup: "gpu-2", instance: "i3"},
		alert{name: "C", hostgroup: "fg-ng-ec-microloan", instance: "i4"},
		alert{name: "D", instance: "i5"}, // no hostgroup: default receivers
		alert{name: "E", hostgroup: "web", instance: "i6"},
	))
	if res.Alerts != 6 || res.Notifications != 5 || res.Suppressed != 0 {
		t.Fatalf("result = %+v, want 6 alerts in 5 notifications", res)
	}
	got := map[string]int{}
	for _, n := range e.list(store.Pending) {
		got[n.Receiver+"/"+n.Route+"/"+n.Hostgroup+"/"+n.Status] = n.AlertCount
	}
	want := map[string]int{
		"gpu/routes[1]/gpu-1/firing":              2,
		"gpu/routes[1]/gpu-2/firing":              1,
		"pay/routes[0]/fg-ng-ec-microloan/firing": 1,
		"ops/default//firing":                     1,
		"ops/default/web/firing":                  1,
	}
	if len(got) != len(want) {
		t.Fatalf("notifications = %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d alerts, want %d (all: %v)", k, got[k], v, got)
		}
	}
	if c := e.counter("alertrouter_alerts_default_routed_total", "reason", "no_hostgroup"); c != 1 {
		t.Errorf("default_routed{no_hostgroup} = %v", c)
	}
	if c := e.counter("alertrouter_alerts_default_routed_total", "reason", "no_route"); c != 1 {
		t.Errorf("default_routed{no_route} = %v", c)
	}
}

func TestDedupeAcrossWebhooks(t *testing.T) {
	a1 := alert{name: "A", hostgroup: "gpu-1", instance: "i1"}
	a2 := alert{name: "A", hostgroup: "gpu-1", instance: "i2"}
	resolved := func(a alert) alert { a.status = "resolved"; return a }
	type step struct {
		advance  time.Duration
		payload  string
		restart  bool
		enqueued int // notifications
		sent     int // alerts in them
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"HA pair sends the same alert", []step{
			{payload: payload("am1", a1, a2), enqueued: 1, sent: 2},
			{advance: 2 * time.Second, payload: payload("am2", a2, a1)},
		}},
		{"HA pair, one alert new", []step{
			{payload: payload("am1", a1), enqueued: 1, sent: 1},
			{payload: payload("am2", a1, a2), enqueued: 1, sent: 1},
		}},
		{"repeat_interval", []step{
			{payload: payload("am1", a1), enqueued: 1, sent: 1},
			{advance: 4*time.Hour - time.Second, payload: payload("am1", a1)},
			{advance: time.Second, payload: payload("am1", a1), enqueued: 1, sent: 1},
		}},
		{"resolved after firing, once", []step{
			{payload: payload("am1", a1), enqueued: 1, sent: 1},
			{advance: time.Minute, payload: payload("am1", resolved(a1)), enqueued: 1, sent: 1},
			{payload: payload("am2", resolved(a1))},
		}},
		{"resolved without firing", []step{
			{payload: payload("am1", resolved(a1))},
		}},
		{"late firing copy after resolve is stale", []step{
			{payload: payload("am1", a1), enqueued: 1, sent: 1},
			{payload: payload("am1", resolved(a1)), enqueued: 1, sent: 1},
			{payload: payload("am2", a1)},
		}},
		{"new episode after resolve", []step{
			{payload: payload("am1", a1), enqueued: 1, sent: 1},
			{payload: payload("am1", resolved(a1)), enqueued: 1, sent: 1},
			{advance: time.Hour, payload: payload("am1", alert{name: "A", hostgroup: "gpu-1", instance: "i1", startsAt: testStart.Add(time.Hour)}), enqueued: 1, sent: 1},
		}},
		{"state survives a restart", []step{
			{payload: payload("am1", a1), enqueued: 1, sent: 1},
			{restart: true, payload: payload("am2", a1)},
			{restart: true, payload: payload("am1", resolved(a1)), enqueued: 1, sent: 1},
		}},
		{"firing and resolved in one webhook", []step{
			{payload: payload("am1", a1), enqueued: 1, sent: 1},
			{payload: payload("am1", resolved(a1), a2), enqueued: 2, sent: 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			e := newEnv(t, logConfig, dir, false)
			now := testStart
			for i, s := range tt.steps {
				if s.restart {
					e.Close()
					e = newEnv(t, logConfig, dir, false)
				}
				now = now.Add(s.advance)
				e.clock.now = now
				before := len(e.list(""))
				res := e.mustPost(s.payload)
				if res.Notifications != s.enqueued {
					t.Fatalf("step %d: %d notifications, want %d (%+v)", i, res.Notifications, s.enqueued, res)
				}
				sent := 0
				for _, n := range e.list("")[:len(e.list(""))-before] {
					sent += n.AlertCount
				}
				if sent != s.sent {
					t.Fatalf("step %d: %d alerts enqueued, want %d", i, sent, s.sent)
				}
			}
		})
	}
}

func TestSendResolvedDisabled(t *testing.T) {
	e := newEnv(t, "global:\n  send_resolved: false\n"+logConfig, "", false)
	a := alert{name: "A", hostgroup: "gpu-1", instance: "i1"}
	e.mustPost(payload("am1", a))
	r := a
	r.status = "resolved"
	if res := e.mustPost(payload("am1", r)); res.Notifications != 0 || res.Suppressed != 1 {
		t.Fatalf("resolved with send_resolved: false: %+v", res)
	}
	// The resolution was recorded: a new episode fires again at once.
	a.startsAt = testStart.Add(time.Minute)
	if res := e.mustPost(payload("am1", a)); res.Notifications != 1 {
		t.Fatalf("new episode: %+v", res)
	}
	if c := e.counter("alertrouter_alerts_suppressed_total", "reason", "send_resolved_disabled"); c != 1 {
		t.Errorf("suppressed{send_resolved_disabled} = %v", c)
	}
}

func TestStoreFailureAnswers503(t *testing.T) {
	e := newEnv(t, logConfig, "", false)
	e.store.Close()
	r := e.post(payload("am1", alert{name: "A", hostgroup: "gpu-1", instance: "i1"}))
	if r.Code != http.StatusServiceUnavailable || r.Body.Error != "store unavailable, retry later" {
		t.Fatalf("got %d %s", r.Code, r.Raw)
	}
	if r := e.do(http.MethodGet, "/-/ready", "", nil, nil); r.Code != http.StatusServiceUnavailable {
		t.Fatalf("/-/ready with a closed store = %d", r.Code)
	}
}

func TestWebhookAuth(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("s3cr3t-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	passFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(passFile, []byte("pa55"), 0o600); err != nil {
		t.Fatal(err)
	}
	body := payload("am1", alert{name: "A", hostgroup: "gpu-1", instance: "i1"})
	tests := []struct {
		name   string
		auth   string
		header string
		code   int
	}{
		{"bearer ok", "webhook:\n  bearer_token_file: " + tokenFile, "Bearer s3cr3t-token", 200},
		{"bearer lower-case scheme", "webhook:\n  bearer_token_file: " + tokenFile, "bearer s3cr3t-token", 200},
		{"bearer wrong", "webhook:\n  bearer_token_file: " + tokenFile, "Bearer s3cr3t-tokeN", 401},
		{"bearer missing", "webhook:\n  bearer_token: inline", "", 401},
		{"bearer inline ok", "webhook:\n  bearer_token: inline", "Bearer inline", 200},
		{"bearer file unreadable", "webhook:\n  bearer_token_file: " + filepath.Join(dir, "nope"), "Bearer x", 500},
		{"basic ok", "webhook:\n  basic_auth: {username: am, password_file: " + passFile + "}", "Basic YW06cGE1NQ==", 200},
		{"basic wrong user", "webhook:\n  basic_auth: {username: am, password_file: " + passFile + "}", "Basic eHg6cGE1NQ==", 401},
		{"basic sent to bearer", "webhook:\n  bearer_token: inline", "Basic YW06cGE1NQ==", 401},
		{"no auth configured", "", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.auth+"\n"+logConfig, "", false)
			h := http.Header{}
			if tt.header != "" {
				h.Set("Authorization", tt.header)
			}
			r := e.do(http.MethodPost, "/webhook", "application/json", strings.NewReader(body), h)
			if r.Code != tt.code {
				t.Fatalf("got %d %s, want %d", r.Code, r.Raw, tt.code)
			}
			if tt.code != 200 && len(e.list("")) != 0 {
				t.Fatal("rejected request stored notifications")
			}
			for _, secret := range []string{"s3cr3t-token", "pa55", "inline"} {
				if strings.Contains(r.Raw, secret) || strings.Contains(e.logs.String(), secret) {
					t.Fatalf("secret %q leaked: %s %s", secret, r.Raw, e.logs.String())
				}
			}
		})
	}
}

func TestReloadKeepsOldConfigWhenNewIsInvalid(t *testing.T) {
	e := newEnv(t, logConfig, "", false)
	if err := os.WriteFile(e.cfgFile, []byte("routes: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.do(http.MethodPost, "/-/reload", "", nil, nil)
	if r.Code != http.StatusInternalServerError || !strings.Contains(r.Body.Error, "did not find expected node content") {
		t.Fatalf("reload of a broken config = %d %s", r.Code, r.Raw)
	}
	if c := e.counter("alertrouter_config_last_reload_successful"); c != 0 {
		t.Errorf("config_last_reload_successful = %v after a failed reload", c)
	}
	res := e.mustPost(payload("am1", alert{name: "A", hostgroup: "fg-ng-ec-microloan", instance: "i1"}))
	if n := e.list(""); res.Notifications != 1 || n[0].Receiver != "pay" {
		t.Fatalf("old config stopped serving: %+v", n)
	}

	if err := os.WriteFile(e.cfgFile, []byte("receivers:\n  - name: other\n    log: {}\ndefault_receivers: [other]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := e.do(http.MethodPost, "/-/reload", "", nil, nil); r.Code != http.StatusOK {
		t.Fatalf("reload of a good config = %d %s", r.Code, r.Raw)
	}
	e.mustPost(payload("am1", alert{name: "B", hostgroup: "fg-ng-ec-microloan", instance: "i1"}))
	if n := e.list(""); n[0].Receiver != "other" || n[0].Route != DefaultRoute {
		t.Fatalf("new config not applied: %+v", n[0])
	}
	if c := e.counter("alertrouter_config_last_reload_successful"); c != 1 {
		t.Errorf("config_last_reload_successful = %v after a good reload", c)
	}
	if r := e.do(http.MethodGet, "/-/reload", "", nil, nil); r.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload = %d", r.Code)
	}
}

func TestNotificationsAPI(t *testing.T) {
	e := newEnv(t, logConfig, "", false)
	e.mustPost(payload("am1", alert{name: "A", hostgroup: "gpu-1", instance: "i1"}, alert{name: "B", hostgroup: "web", instance: "i2"}))
	tests := []struct {
		query string
		code  int
		count int
		err   string
	}{
		{"", 200, 2, ""},
		{"?limit=1", 200, 1, ""},
		{"?status=pending", 200, 2, ""},
		{"?status=sent", 200, 0, ""},
		{"?limit=0", 400, 0, "limit: want a number from 1 to 1000"},
		{"?limit=x", 400, 0, "limit: want a number from 1 to 1000"},
		{"?status=done", 400, 0, `status: unknown state "done" (want pending, sent or dead)`},
	}
	for _, tt := range tests {
		r := e.do(http.MethodGet, "/api/v1/notifications"+tt.query, "", nil, nil)
		if r.Code != tt.code || r.Body.Error != tt.err {
			t.Errorf("%s: %d %s", tt.query, r.Code, r.Raw)
			continue
		}
		if tt.code == 200 {
			if list, _ := r.Body.Data.([]any); len(list) != tt.count {
				t.Errorf("%s: %d notifications, want %d", tt.query, len(list), tt.count)
			}
		}
	}
	r := e.do(http.MethodGet, "/api/v1/notifications?limit=1", "", nil, nil)
	for _, field := range []string{`"receiver":"ops"`, `"route":"default"`, `"hostgroup":"web"`, `"alertNames":["B"]`, `"status":"pending"`, `"alertStatus":"firing"`, `"attempts":0`} {
		if !strings.Contains(r.Raw, field) {
			t.Errorf("API answer lacks %s: %s", field, r.Raw)
		}
	}
}

// A Prometheus whose clock runs ahead sends startsAt in our future: the HA pair's copies
// of one episode are still one notification, and a startsAt beyond max_clock_skew is
// accepted, counted and logged.
func TestStartsAtAheadOfOurClock(t *testing.T) {
	e := newEnv(t, logConfig, "", false)
	ahead := alert{name: "A", hostgroup: "gpu-1", instance: "i1", startsAt: testStart.Add(5 * time.Second)}
	if res := e.mustPost(payload("am1", ahead)); res.Notifications != 1 {
		t.Fatalf("first copy: %+v", res)
	}
	if res := e.mustPost(payload("am2", ahead)); res.Notifications != 0 || res.Suppressed != 1 {
		t.Fatalf("the other Alertmanager's copy: %+v", res)
	}
	e.clock.Add(6 * time.Second)
	if res := e.mustPost(payload("am1", ahead)); res.Notifications != 0 {
		t.Fatalf("a copy 6s later: %+v", res)
	}
	if c := e.counter("alertrouter_alerts_clock_skewed_total"); c != 0 {
		t.Fatalf("5s ahead counted as clock skew: %v", c)
	}

	far := alert{name: "B", hostgroup: "gpu-1", instance: "i1", startsAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}
	for i, am := range []string{"am1", "am2", "am1"} {
		want := 0
		if i == 0 {
			want = 1
		}
		if res := e.mustPost(payload(am, far)); res.Notifications != want {
			t.Fatalf("copy %d from the year 9999: %+v", i+1, res)
		}
	}
	if c := e.counter("alertrouter_alerts_clock_skewed_total"); c != 3 {
		t.Fatalf("clock_skewed_total = %v, want 3", c)
	}
	if !strings.Contains(e.logs.String(), "Alerts start in the future") {
		t.Fatalf("no warning logged:\n%s", e.logs.String())
	}
}

func TestChunksBoundEveryCommit(t *testing.T) {
	mk := func(name string, n int) *group {
		g := &group{receiver: name}
		for range n {
			g.alerts = append(g.alerts, &template.Alert{})
		}
		return g
	}
	sizes := func(cs [][]*group) (out [][]int) {
		for _, c := range cs {
			var row []int
			for _, g := range c {
				row = append(row, len(g.alerts))
			}
			out = append(out, row)
		}
		return out
	}
	for _, tt := range []struct {
		name   string
		groups []*group
		want   [][]int
	}{
		{"none", nil, [][]int{nil}},
		{"small groups share a commit", []*group{mk("a", 2), mk("b", 3)}, [][]int{{2, 3}}},
		{"a group fills a commit", []*group{mk("a", 4), mk("b", 3)}, [][]int{{4, 1}, {2}}},
		{"a big group is split", []*group{mk("a", 11)}, [][]int{{5}, {5}, {1}}},
	} {
		if got := sizes(chunks(tt.groups, 5)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: chunks %v, want %v", tt.name, got, tt.want)
		}
	}
}

// A webhook larger than one commit is taken in several. When a later commit fails the
// answer is 503, and Alertmanager's retry delivers the rest: every alert exactly once.
func TestHugeWebhookIsCommittedInPartsAndRetriedWhole(t *testing.T) {
	e := newEnv(t, "webhook:\n  max_body_bytes: 100000000\n"+logConfig, "", false)
	var alerts []alert
	total := 2*maxAlertsPerCommit + 10
	for i := range total {
		alerts = append(alerts, alert{name: "Storm", hostgroup: "gpu-1", instance: fmt.Sprintf("i-%d", i)})
	}
	body := payload("am1", alerts...)
	// The store fills up after the first commit.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(e.dir, store.FileName)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(fmt.Sprintf(`CREATE TRIGGER full BEFORE INSERT ON claims WHEN (SELECT COUNT(*) FROM claims) >= %d
		BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`, maxAlertsPerCommit)); err != nil {
		t.Fatal(err)
	}
	if r := e.post(body); r.Code != http.StatusServiceUnavailable {
		t.Fatalf("a commit failed: %d %s, want 503", r.Code, r.Raw)
	}
	if _, err := db.Exec(`DROP TRIGGER full`); err != nil {
		t.Fatal(err)
	}
	res := e.mustPost(body) // Alertmanager's retry
	if res.Notifications != 2 || res.Suppressed != maxAlertsPerCommit {
		t.Fatalf("retry: %+v, want the 2 notifications the first attempt could not commit", res)
	}
	seen := map[string]int{}
	for _, n := range e.list("") {
		m, err := dispatch.Decode(&n)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range m.Data.Alerts {
			seen[a.Labels["instance"]]++
		}
	}
	if len(seen) != total {
		t.Fatalf("%d alerts enqueued, want %d", len(seen), total)
	}
	for inst, n := range seen {
		if n != 1 {
			t.Fatalf("%s enqueued %d times", inst, n)
		}
	}
}
