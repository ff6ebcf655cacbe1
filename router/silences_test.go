package router

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/alertmanager/template"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/internal/pgtest"
	"github.com/alertrouter/alertrouter/silences/silencestest"
	"github.com/alertrouter/alertrouter/store"
)

// silenceEnv is a router with two Alertmanagers (fakes of their API), and the alerts of
// gpu-1 routed to the gpu receiver.
func silenceEnv(t *testing.T) (*env, *silencestest.Fake, *silencestest.Fake) {
	t.Helper()
	a, b := silencestest.New(t, ""), silencestest.New(t, "am-b-token")
	e := newEnv(t, `receivers:
  - name: ops
    log: {}
  - name: gpu
    log: {}
routes:
  - hostgroup: gpu-1
    receivers: [gpu]
default_receivers: [ops]
alertmanagers:
  - {name: am-a, url: '`+a.URL()+`'}
  - {name: am-b, url: '`+b.URL()+`', bearer_token: am-b-token}
`, "", false)
	return e, a, b
}

// addSilence posts form to the API and decodes the silence.
func (e *env) addSilence(form url.Values) (silenceView, response) {
	e.t.Helper()
	r := e.do(http.MethodPost, "/api/v1/silences", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), nil)
	var v silenceView
	if r.Code == http.StatusOK {
		b, _ := json.Marshal(r.Body.Data)
		_ = json.Unmarshal(b, &v)
	}
	return v, r
}

// A silence goes to both Alertmanagers; the same matchers again extend it there (one
// silence each, the same ids); one that was down gets it when it is back, one that lost
// it gets it again; expired, it ends on both, and its receivers hear of it once.
func TestSilencesOnEveryAlertmanager(t *testing.T) {
	e, a, b := silenceEnv(t)
	ctx := context.Background()
	sync := func() { e.srv.silencer.Sync(ctx) }
	b.SetDown(true)
	v, r := e.addSilence(url.Values{"match": {`hostgroup="gpu-1"`, `alertname="GPUDown"`}, "duration": {"2h"}, "comment": {"driver update"}, "author": {"alice"}})
	if r.Code != http.StatusOK || v.Matchers != `{alertname="GPUDown",hostgroup="gpu-1"}` || v.CreatedBy != "alice" || !v.EndsAt.Equal(testStart.Add(2*time.Hour).UTC()) {
		t.Fatalf("add: %d %s", r.Code, r.Raw)
	}
	sync()
	if len(a.Active()) != 1 || len(b.Active()) != 0 {
		t.Fatalf("after the first sync: %d on am-a, %d on am-b (down)", len(a.Active()), len(b.Active()))
	}
	if behindA, behindB, failures := e.counter("alertrouter_silences_behind", "alertmanager", "am-a"), e.counter("alertrouter_silences_behind", "alertmanager", "am-b"),
		e.counter("alertrouter_silence_sync_failures_total", "alertmanager", "am-b"); behindA != 0 || behindB != 1 || failures != 1 {
		t.Errorf("behind: am-a %v, am-b %v (down), failures at am-b %v; want 0, 1, 1", behindA, behindB, failures)
	}
	b.SetDown(false)
	sync() // too early: the retry waits
	if len(b.Active()) != 0 {
		t.Fatal("am-b was retried before its backoff")
	}
	e.clock.Add(2 * time.Second)
	sync()
	if len(b.Active()) != 1 {
		t.Fatalf("am-b has %d silences once back, want 1", len(b.Active()))
	}
	if behind := e.counter("alertrouter_silences_behind", "alertmanager", "am-b"); behind != 0 {
		t.Errorf("am-b is %v silences behind once it has it", behind)
	}
	var first silencestest.Silence
	for _, s := range b.Active() {
		first = s
	}

	// The same matchers, in another order, longer: the one silence is extended.
	v2, r := e.addSilence(url.Values{"match": {`alertname="GPUDown", hostgroup="gpu-1"`}, "duration": {"4h"}})
	if r.Code != http.StatusOK || v2.ID != v.ID || !v2.Extended || !v2.EndsAt.Equal(testStart.Add(4*time.Hour+2*time.Second).UTC()) || v2.Comment != "driver update" {
		t.Fatalf("the same matchers again: %d %s", r.Code, r.Raw)
	}
	sync()
	for name, f := range map[string]*silencestest.Fake{"am-a": a, "am-b": b} {
		active := f.Active()
		if len(active) != 1 {
			t.Fatalf("%s has %d silences after the extension, want 1", name, len(active))
		}
		for _, s := range active {
			if !s.EndsAt.Equal(testStart.Add(4*time.Hour+2*time.Second)) || s.CreatedBy != "alice" || len(s.Matchers) != 2 {
				t.Errorf("%s's silence: %+v", name, s)
			}
		}
	}
	if _, ok := b.Active()[first.ID]; !ok {
		t.Error("the extension made a new silence on am-b instead of moving the end of the one it had")
	}

	// am-a restarts without its storage: the next check makes the silence again.
	a.Forget()
	e.clock.Add(61 * time.Second)
	sync()
	if len(a.Active()) != 1 {
		t.Fatalf("am-a has %d silences after it lost them, want 1", len(a.Active()))
	}
	console := newBrowser(t, e.http.URL)
	console.pageHas(t, "/silences", http.StatusOK, "am-a: <span class=\"state-sent\">has it", "am-b: <span class=\"state-sent\">has it", "driver update")

	// Expired: gone from both, and the gpu receiver (the route of hostgroup gpu-1) hears
	// of it, once.
	if r := e.do(http.MethodPost, "/api/v1/silences/"+strconv.FormatInt(v.ID, 10)+"/expire", "", nil, nil); r.Code != http.StatusOK {
		t.Fatalf("expire: %d %s", r.Code, r.Raw)
	}
	sync()
	sync()
	if len(a.Active())+len(b.Active()) != 0 {
		t.Fatalf("after expiry: %d on am-a, %d on am-b", len(a.Active()), len(b.Active()))
	}
	notices := e.list(store.Pending)
	if len(notices) != 1 || notices[0].Receiver != "gpu" || notices[0].Route != "silences" || notices[0].AlertNames[0] != "SilenceEnded" {
		t.Fatalf("notices %+v, want one to gpu", notices)
	}
	if r := e.do(http.MethodPost, "/api/v1/silences/"+strconv.FormatInt(v.ID, 10)+"/expire", "", nil, nil); r.Code != http.StatusNotFound {
		t.Errorf("expiring it again: %d", r.Code)
	}
	console.pageHas(t, "/audit", http.StatusOK, "silence.add", "silence.extend", "silence.expire")
}

// A silence that simply runs out sends its notice once, to the default receivers when its
// matchers name no host group; bad requests change nothing.
func TestSilenceRunsOutAndBadRequests(t *testing.T) {
	e, a, _ := silenceEnv(t)
	ctx := context.Background()
	v, r := e.addSilence(url.Values{"match": {`alertname=~"Nginx.*"`, `severity="critical"`}, "preset": {"1h"}})
	if r.Code != http.StatusOK || !v.EndsAt.Equal(testStart.Add(time.Hour).UTC()) {
		t.Fatalf("add: %d %s", r.Code, r.Raw)
	}
	e.srv.silencer.Sync(ctx)
	e.clock.Add(time.Hour + time.Second)
	e.srv.silencer.Sync(ctx)
	e.srv.silencer.Sync(ctx)
	if n := e.list(store.Pending); len(n) != 1 || n[0].Receiver != "ops" {
		t.Fatalf("notices %+v, want one to ops", n)
	}
	if len(a.Active()) != 1 {
		t.Error("a silence that ran out was expired on the Alertmanager (it ends there by itself)")
	}
	for _, bad := range []url.Values{
		{"duration": {"1h"}},
		{"match": {`alertname=~".*"`}, "duration": {"1h"}},
		{"match": {`alertname="X"`}},
		{"match": {`alertname="X"`}, "duration": {"soon"}},
		{"match": {`alertname="X"`}, "until": {"2020-01-01T00:00:00Z"}},
		{"match": {`alertname=`}, "duration": {"1h"}},
		{"match": {`alertname="X"`}, "duration": {"300000d"}},
		{"match": {`alertname="X"`}, "duration": {"213504d"}}, // overflowed into 25 minutes
		{"match": {`alertname="X"`}, "duration": {"367d"}},
		{"match": {`alertname="X"`}, "until": {"2099-01-01T00:00:00Z"}},
		{"match": {`alertname="X"`}, "duration": {"1h"}, "until": {"2026-12-31T00:00:00Z"}},
		{"match": {`alertname="X"`}, "preset": {"7h"}},
	} {
		if _, r := e.addSilence(bad); r.Code != http.StatusBadRequest {
			t.Errorf("%v: %d %s, want 400", bad, r.Code, r.Raw)
		}
	}
	if list, _ := e.store.Silences(ctx, testStart.Add(-time.Hour)); len(list) != 1 {
		t.Errorf("%d silences after the bad requests, want the one", len(list))
	}
	// A preset button wins over what the form's duration box holds.
	if v, r := e.addSilence(url.Values{"match": {`alertname="Y"`}, "preset": {"4h"}, "duration": {"2h"}}); r.Code != http.StatusOK || !v.EndsAt.Equal(e.clock.Now().Add(4*time.Hour).UTC()) {
		t.Errorf("a preset with a duration: %d %s", r.Code, r.Raw)
	}
	plain := newEnv(t, "receivers:\n  - name: ops\n    log: {}\ndefault_receivers: [ops]\n", "", false)
	if _, r := plain.addSilence(url.Values{"match": {`alertname="X"`}, "duration": {"1h"}}); r.Code != http.StatusConflict || !strings.Contains(r.Raw, "add alertmanagers") {
		t.Errorf("without Alertmanagers: %d %s", r.Code, r.Raw)
	}
}

// The console's form adds a silence with a preset, "until tomorrow 09:00" in
// global.timezone; an alert's page offers to silence it.
func TestSilenceFromTheConsole(t *testing.T) {
	e, a, _ := silenceEnv(t)
	br := newBrowser(t, e.http.URL)
	br.pageHas(t, "/silences", http.StatusOK, `id="silence-add"`, `id="preset-tomorrow"`)
	resp, _ := br.post("/silences", url.Values{"match": {`hostgroup="gpu-1"`}, "preset": {"tomorrow"}, "comment": {"maintenance"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the form: %d", resp.StatusCode)
	}
	br.pageHas(t, resp.Header.Get("Location"), http.StatusOK, "Silence 1 added.", "maintenance")
	list, _ := e.store.Silences(context.Background(), testStart)
	loc := e.srv.runtime.Load().cfg.Location()
	day := testStart.In(loc).AddDate(0, 0, 1)
	if want := time.Date(day.Year(), day.Month(), day.Day(), 9, 0, 0, 0, loc); len(list) != 1 || !list[0].EndsAt.Equal(want) {
		t.Fatalf("silences %+v, want one until %s", list, want)
	}
	e.srv.silencer.Sync(context.Background())
	if len(a.Active()) != 1 {
		t.Error("the console's silence is not on am-a")
	}
	e.mustPost(payload("am1", alert{name: "GPUDown", hostgroup: "gpu-1", instance: "i1"}))
	fp := fingerprintOf(t, e.list("")[0])
	br.pageHas(t, "/alerts/"+fp, http.StatusOK, `id="silence-alert"`, "match=%7balertname%3d%22GPUDown%22%2c")
}

// An Alertmanager taken out of the config keeps its copies waiting, and says why; put
// back, it gets the silences it lost meanwhile.
func TestSilencesWaitForARemovedAlertmanager(t *testing.T) {
	e, a, b := silenceEnv(t)
	ctx := context.Background()
	if _, r := e.addSilence(url.Values{"match": {`hostgroup="gpu-1"`}, "duration": {"2h"}, "comment": {"driver"}, "author": {"alice"}}); r.Code != http.StatusOK {
		t.Fatalf("add: %d %s", r.Code, r.Raw)
	}
	e.srv.silencer.Sync(ctx)
	if len(a.Active()) != 1 || len(b.Active()) != 1 {
		t.Fatalf("%d on am-a, %d on am-b, want 1 on each", len(a.Active()), len(b.Active()))
	}
	full, err := os.ReadFile(e.cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	reload := func(cfg string) {
		t.Helper()
		if err := os.WriteFile(e.cfgFile, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := e.srv.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	var without []string
	for _, line := range strings.Split(string(full), "\n") {
		if !strings.Contains(line, "am-b") {
			without = append(without, line)
		}
	}
	reload(strings.Join(without, "\n"))
	b.Forget() // restarted without its storage while out of the config
	e.clock.Add(61 * time.Second)
	e.srv.silencer.Sync(ctx)
	console := newBrowser(t, e.http.URL)
	console.pageHas(t, "/silences", http.StatusOK, "not in the config&#39;s alertmanagers")

	reload(string(full))
	e.clock.Add(61 * time.Second)
	e.srv.silencer.Sync(ctx)
	if len(b.Active()) != 1 {
		t.Fatalf("am-b has %d silences once back in the config, want 1", len(b.Active()))
	}

	// Out of the config again, while the silence runs out: nothing is left to do there,
	// and its copy is not looked at again.
	reload(strings.Join(without, "\n"))
	e.clock.Add(2 * time.Hour)
	e.srv.silencer.Sync(ctx)
	e.srv.silencer.Sync(ctx)
	if due, err := e.store.DueCopies(ctx, e.clock.Now().Add(24*time.Hour), 10); err != nil || len(due) != 0 {
		t.Errorf("copies still due after the silence ran out: %+v %v", due, err)
	}
}

// A silence of one alert made from a link or button has the text of the same matchers
// given to the API in any order: adding one extends the other.
func TestAnAlertsMatchersAreCanonical(t *testing.T) {
	ls := template.KV{"alertname": "GPUDown", "agent": "x", "instance": "i1"}
	r := httptest.NewRequest(http.MethodPost, "/api/v1/silences?match=instance%3D%22i1%22&match=alertname%3D%22GPUDown%22%2Cagent%3D%22x%22&match=agent%3D%22x%22", nil)
	if err := r.ParseForm(); err != nil {
		t.Fatal(err)
	}
	fromAPI, err := silenceMatchers(r)
	if err != nil {
		t.Fatal(err)
	}
	if got := exactMatchers(ls); got != fromAPI || got != `{agent="x",alertname="GPUDown",instance="i1"}` {
		t.Errorf("an alert's matchers %s, the API's %s", got, fromAPI)
	}
	// Label names Prometheus 3 allows (UTF-8) read back as they were written.
	utf8 := template.KV{"alertname": "GPUDown", "service.name": "api", "a b": `c"d`, "k8s-app": "x"}
	text := exactMatchers(utf8)
	ms, err := config.ParseMatchers(text)
	if err != nil || len(ms) != len(utf8) {
		t.Fatalf("%s reads back as %v, %v", text, ms, err)
	}
	for _, m := range ms {
		if m.Type != labels.MatchEqual || utf8[m.Name] != m.Value {
			t.Errorf("%s reads back with %s", text, m)
		}
	}
}

// The notice that a silence ended goes out at once, not at the dispatcher's next idle
// look at the outbox (a minute).
func TestSilenceEndedNoticeGoesOutAtOnce(t *testing.T) {
	am := silencestest.New(t, "")
	e := newEnv(t, logConfig+"alertmanagers:\n  - {name: am, url: '"+am.URL()+"'}\n", "", true)
	v, r := e.addSilence(url.Values{"match": {`hostgroup="gpu-render-a"`}, "duration": {"1h"}, "author": {"alice"}})
	if r.Code != http.StatusOK {
		t.Fatalf("add: %d %s", r.Code, r.Raw)
	}
	e.srv.silencer.Sync(t.Context())
	if r := e.do(http.MethodPost, "/api/v1/silences/"+strconv.FormatInt(v.ID, 10)+"/expire", "", nil, nil); r.Code != http.StatusOK {
		t.Fatalf("expire: %d %s", r.Code, r.Raw)
	}
	e.srv.silencer.Sync(t.Context())
	eventually(t, "the notice delivered", func() bool { return strings.Contains(e.stdout.String(), `"alertname":"SilenceEnded"`) })
}

// A form or query value with NUL is refused with 400 before any handler runs: PostgreSQL
// refused such a comment as if it were down (503), and the other values it would reach
// are the same text columns.
func TestNULInAFormIsRefused(t *testing.T) {
	st, err := store.OpenPostgres(context.Background(), pgtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	fake := silencestest.New(t, "")
	e := newEnvOn(t, logConfig+"alertmanagers:\n  - {name: am-a, url: '"+fake.URL()+"'}\n", t.TempDir(), st, false)
	if _, r := e.addSilence(url.Values{"match": {`alertname="X"`}, "duration": {"1h"}, "comment": {"maintenance\x00"}}); r.Code != http.StatusBadRequest || !strings.Contains(r.Raw, "NUL") {
		t.Errorf("a silence with NUL in its comment: %d %s, want 400", r.Code, r.Raw)
	}
	if r := e.do(http.MethodPost, "/api/v1/acks?match="+url.QueryEscape("alertname=\"X\x00\""), "", nil, nil); r.Code != http.StatusBadRequest {
		t.Errorf("an ack with NUL in its matchers: %d %s, want 400", r.Code, r.Raw)
	}
	if r := e.do(http.MethodGet, "/api/v1/notifications?receiver=pay%00", "", nil, nil); r.Code != http.StatusBadRequest {
		t.Errorf("a search with NUL: %d %s, want 400", r.Code, r.Raw)
	}
	if list, err := e.store.Silences(context.Background(), testStart.Add(-time.Hour)); err != nil || len(list) != 0 {
		t.Errorf("silences after the refusals: %v %v", list, err)
	}
	if _, r := e.addSilence(url.Values{"match": {`alertname="X"`}, "duration": {"1h"}, "comment": {"maintenance"}}); r.Code != http.StatusOK {
		t.Errorf("the same silence without NUL: %d %s", r.Code, r.Raw)
	}
}
