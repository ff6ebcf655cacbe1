package router

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/internal/amtest"
	"github.com/alertrouter/alertrouter/internal/testenv"
	"github.com/alertrouter/alertrouter/store"
)

// clock is a settable clock for tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// syncBuffer is a bytes.Buffer safe for the dispatcher and the test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is a router running on a real SQLite file, behind a real HTTP server.
type env struct {
	t       *testing.T
	dir     string
	cfgFile string
	clock   *clock
	stdout  *syncBuffer
	logs    *syncBuffer
	reg     *prometheus.Registry
	store   *store.Store
	srv     *Server
	http    *httptest.Server
	stop    context.CancelFunc
	done    chan struct{}
}

var testStart = time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)

// newEnv starts a router with the config text; dir is reused when not empty, to test restarts.
// run controls whether the dispatcher runs.
func newEnv(t *testing.T, cfgYAML, dir string, run bool) *env {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return newEnvOn(t, cfgYAML, dir, st, run)
}

// newEnvOn starts a router on an open store: a replica, when it is PostgreSQL.
func newEnvOn(t *testing.T, cfgYAML, dir string, st *store.Store, run bool) *env {
	t.Helper()
	e := &env{t: t, dir: dir, clock: &clock{now: testStart}, stdout: &syncBuffer{}, logs: &syncBuffer{}, reg: prometheus.NewRegistry(), store: st}
	e.cfgFile = filepath.Join(dir, "alertrouter.yml")
	if err := os.WriteFile(e.cfgFile, []byte(cfgYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadFile(e.cfgFile)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	e.srv, err = New(cfg, Options{
		Store: e.store, Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registerer: e.reg, Gatherer: e.reg, Stdout: e.stdout, ConfigFile: e.cfgFile, Now: e.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.http = httptest.NewServer(e.srv.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	e.stop, e.done = cancel, make(chan struct{})
	if run {
		go func() { e.srv.Run(ctx); close(e.done) }()
	} else {
		close(e.done)
	}
	t.Cleanup(e.Close)
	return e
}

// Close stops the router like SIGTERM does; safe to call twice.
func (e *env) Close() {
	if e.http == nil {
		return
	}
	e.http.Close()
	e.stop()
	<-e.done
	e.store.Close()
	e.http = nil
}

// wake makes every dispatcher worker look at the outbox now, after the clock moved.
func (e *env) wake() {
	var all []string
	for _, r := range e.srv.runtime.Load().cfg.Receivers {
		all = append(all, r.Name)
	}
	e.srv.dispatcher.Notify(all)
}

type response struct {
	Code int
	Body apiResponse
	Raw  string
}

func (e *env) do(method, path, contentType string, body io.Reader, header http.Header) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.http.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{Code: resp.StatusCode, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r.Body)
	return r
}

func (e *env) post(payload string) response {
	e.t.Helper()
	return e.do(http.MethodPost, "/webhook", "application/json", strings.NewReader(payload), nil)
}

func (e *env) mustPost(payload string) acceptResult {
	e.t.Helper()
	r := e.post(payload)
	if r.Code != http.StatusOK {
		e.t.Fatalf("POST /webhook = %d %s", r.Code, r.Raw)
	}
	var res acceptResult
	b, _ := json.Marshal(r.Body.Data)
	_ = json.Unmarshal(b, &res)
	return res
}

func (e *env) list(state store.State) []store.Notification {
	e.t.Helper()
	ns, err := e.store.List(context.Background(), store.Filter{State: state, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return ns
}

func (e *env) counter(name string, labels ...string) float64 {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue metrics
				}
			}
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

// eventually polls cond for up to 10 seconds: for waiting on the dispatcher, never for timing.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, what, cond)
}

// alert builds one alert of a payload.
type alert struct {
	name, hostgroup, instance, status string
	startsAt                          time.Time
	extra                             map[string]string
}

func (a alert) amtest() amtest.Alert {
	labels := map[string]string{"alertname": a.name, "instance": a.instance, "severity": "critical"}
	if a.hostgroup != "" {
		labels["hostgroup"] = a.hostgroup
	}
	for k, v := range a.extra {
		labels[k] = v
	}
	out := amtest.Alert{
		Status: a.status, Labels: labels, StartsAt: a.startsAt, GeneratorURL: "http://prom/graph",
		Annotations: map[string]string{"summary": a.name + " on " + a.instance},
	}
	if out.StartsAt.IsZero() {
		out.StartsAt = testStart.Add(-time.Minute)
	}
	if a.status == "resolved" {
		out.EndsAt = out.StartsAt.Add(time.Hour)
	}
	return out
}

// payload builds an Alertmanager v4 webhook from alerts; am tells the two Alertmanagers of an HA pair apart.
func payload(am string, alerts ...alert) string {
	w := amtest.Webhook{Receiver: "alertrouter", GroupKey: "{}:{am=" + am + "}", ExternalURL: "http://" + am + ":9093"}
	for _, a := range alerts {
		w.Alerts = append(w.Alerts, a.amtest())
	}
	return w.String()
}

// twoLogReceivers sends every alert with a host group to two log receivers (as the load
// generator's config does).
const twoLogReceivers = `
receivers:
  - {name: a, log: {}}
  - {name: b, log: {}}
routes:
  - hostgroup_regex: '.+'
    receivers: [a, b]
default_receivers: [a]
`

// logConfig routes two host groups to two log receivers and everything else to a third.
const logConfig = `
receivers:
  - name: pay
    log: {}
  - name: gpu
    log: {}
  - name: ops
    log: {}
routes:
  - hostgroup: fg-ng-ec-microloan
    receivers: [pay]
  - hostgroup_regex: 'gpu-.*'
    receivers: [gpu]
default_receivers: [ops]
`
