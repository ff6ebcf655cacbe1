package watchdog

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/dispatch"
	"github.com/alertrouter/alertrouter/internal/testenv"
	"github.com/alertrouter/alertrouter/receivers/aliyuncms"
	"github.com/alertrouter/alertrouter/store"
)

// fakeProm is a Prometheus (or Alertmanager) whose answers the test scripts: healthy,
// failing with 503, or not listening at all, with a start time, reload status and
// Alertmanager count that the test sets.
type fakeProm struct {
	t    *testing.T
	addr string

	mu            sync.Mutex
	status        int
	startTime     time.Time
	reloadOK      bool
	alertmanagers int
	delay         time.Duration // per request
	srv           *http.Server
}

func newFakeProm(t *testing.T) *fakeProm {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeProm{t: t, addr: ln.Addr().String(), status: http.StatusOK, reloadOK: true, alertmanagers: 1,
		startTime: time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)}
	f.serve(ln)
	t.Cleanup(f.stop)
	return f
}

func (f *fakeProm) url() string { return "http://" + f.addr }

func (f *fakeProm) serve(ln net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		delay := f.delay
		f.mu.Unlock()
		time.Sleep(delay)
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.status != http.StatusOK {
			http.Error(w, "Service Unavailable", f.status)
			return
		}
		start := f.startTime.Format(time.RFC3339Nano)
		switch r.URL.Path {
		case "/-/healthy", "/-/ready":
			io.WriteString(w, "OK")
		case "/api/v1/status/runtimeinfo":
			fmt.Fprintf(w, `{"status":"success","data":{"startTime":%q,"reloadConfigSuccess":%t}}`, start, f.reloadOK)
		case "/api/v1/alertmanagers":
			ams := strings.TrimSuffix(strings.Repeat(`{"url":"http://am:9093/api/v2/alerts"},`, f.alertmanagers), ",")
			fmt.Fprintf(w, `{"status":"success","data":{"activeAlertmanagers":[%s],"droppedAlertmanagers":[]}}`, ams)
		case "/api/v2/status":
			fmt.Fprintf(w, `{"uptime":%q,"cluster":{"status":"disabled"}}`, start)
		default:
			http.NotFound(w, r)
		}
	})
	f.srv = &http.Server{Handler: mux}
	go f.srv.Serve(ln)
}

// stop closes the listener: probes get "connection refused".
func (f *fakeProm) stop() {
	if f.srv != nil {
		f.srv.Close()
		f.srv = nil
	}
}

// restart listens again on the same address, as a restarted Prometheus with a new
// start time.
func (f *fakeProm) restart(startTime time.Time) {
	f.stop()
	f.set(func(f *fakeProm) { f.startTime, f.status = startTime, http.StatusOK })
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		f.t.Fatal(err)
	}
	f.serve(ln)
}

func (f *fakeProm) set(change func(*fakeProm)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

// env is a watchdog on a real store with a fake clock; restartWatchdog replaces the
// watchdog and reopens the store, as a restart of alertrouter does.
type env struct {
	t     *testing.T
	dir   string
	cfg   *config.Config
	now   time.Time
	store *store.Store
	wd    *Watchdog
	woken []string
}

func newEnv(t *testing.T, watchdogYAML string) *env {
	t.Helper()
	cfg, err := config.Load([]byte(`receivers:
  - name: cms
    log: {}
  - name: ops-slack
    log: {}
default_receivers: [cms]
`+watchdogYAML), "alertrouter.yml")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: t.TempDir(), cfg: cfg, now: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	e.restartWatchdog()
	t.Cleanup(func() { e.store.Close() })
	return e
}

func (e *env) restartWatchdog() {
	e.t.Helper()
	if e.store != nil {
		e.store.Close()
	}
	st, err := store.Open(context.Background(), e.dir)
	if err != nil {
		e.t.Fatal(err)
	}
	e.store = st
	e.wd = New(e.cfg.Watchdog, Options{
		Store: st, Logger: slog.New(slog.DiscardHandler), Registerer: prometheus.NewRegistry(),
		Now: func() time.Time { return e.now }, Wake: func(r []string) { e.woken = append(e.woken, r...) },
	})
}

// tick advances the clock and runs one tick, returning the events it enqueued as
// "event/level" (from the first watchdog receiver's notifications).
func (e *env) tick(advance time.Duration) []string {
	e.t.Helper()
	e.now = e.now.Add(advance)
	before := e.outbox()
	if err := e.wd.Tick(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	after := e.outbox()
	return after[len(before):]
}

// outbox lists the events enqueued for the first watchdog receiver, oldest first,
// checking that every receiver got the same ones.
func (e *env) outbox() []string {
	e.t.Helper()
	ns, err := e.store.List(context.Background(), store.Filter{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	per := map[string][]string{}
	for i := len(ns) - 1; i >= 0; i-- {
		n := ns[i]
		m, err := dispatch.Decode(&n)
		if err != nil {
			e.t.Fatal(err)
		}
		a := m.Data.Alerts[0]
		if n.Route != Route || n.Status != a.Status {
			e.t.Fatalf("notification %d: route %q status %q, alert status %q", n.ID, n.Route, n.Status, a.Status)
		}
		per[n.Receiver] = append(per[n.Receiver], a.Labels["event"]+"/"+a.Labels["severity"])
	}
	first := per[e.cfg.Watchdog.Receivers[0]]
	for _, r := range e.cfg.Watchdog.Receivers[1:] {
		if strings.Join(per[r], ",") != strings.Join(first, ",") {
			e.t.Fatalf("receiver %s got %v, receiver %s got %v", r, per[r], e.cfg.Watchdog.Receivers[0], first)
		}
	}
	return first
}

func expect(t *testing.T, step string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("%s: events %v, want %v", step, got, want)
	}
}

const promTarget = `watchdog:
  interval: 30s
  confirm: 2
  warning_after: 1m
  critical_after: 3m
  receivers: [cms, ops-slack]
  prometheus:
    - name: prom-main
      url: %s
`

func TestDownEscalatesOnceAcrossARestartOfTheWatchdog(t *testing.T) {
	prom := newFakeProm(t)
	e := newEnv(t, fmt.Sprintf(promTarget, prom.url()))

	expect(t, "first probe, healthy", e.tick(0))
	prom.set(func(f *fakeProm) { f.status = http.StatusServiceUnavailable })
	expect(t, "one failure is not yet down", e.tick(30*time.Second))
	expect(t, "confirmed", e.tick(30*time.Second), "down/info")
	expect(t, "down 1m", e.tick(30*time.Second), "down/warning")
	expect(t, "down 1m30s", e.tick(30*time.Second))
	expect(t, "down 2m", e.tick(30*time.Second))
	expect(t, "down 2m30s", e.tick(30*time.Second))
	expect(t, "down 3m", e.tick(30*time.Second), "down/critical")

	e.restartWatchdog()
	expect(t, "down 3m30s, after the watchdog restarted", e.tick(30*time.Second))
	expect(t, "still down", e.tick(30*time.Second))

	prom.restart(prom.startTime.Add(5 * time.Minute))
	expect(t, "back with a new start time", e.tick(30*time.Second), "recovered/info", "restarted/warning")
	expect(t, "up", e.tick(30*time.Second))
	if len(e.woken) == 0 {
		t.Fatal("the watchdog never woke its receivers")
	}

	st, err := e.wd.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := st.Targets[0]
	if got.State != stateUp || got.Name != "prom-main" || !got.LastStartTime.Equal(prom.startTime) || got.Failures != 0 {
		t.Fatalf("status %+v", got)
	}
}

func TestConnectionRefusedCountsAsDownAndRecoveryNamesTheOutage(t *testing.T) {
	prom := newFakeProm(t)
	e := newEnv(t, fmt.Sprintf(promTarget, prom.url()))
	expect(t, "healthy", e.tick(0))
	prom.stop()
	expect(t, "refused once", e.tick(30*time.Second))
	expect(t, "refused twice", e.tick(30*time.Second), "down/info")
	st, _ := e.wd.Status(context.Background())
	if !strings.Contains(st.Targets[0].LastError, "connection refused") || st.Targets[0].State != stateDown {
		t.Fatalf("status %+v", st.Targets[0])
	}
	prom.restart(prom.startTime) // same start time: it was unreachable, not restarted
	expect(t, "reachable again", e.tick(30*time.Second), "recovered/info")

	ns, _ := e.store.List(context.Background(), store.Filter{Limit: 1})
	m, err := dispatch.Decode(&ns[0])
	if err != nil {
		t.Fatal(err)
	}
	if a := m.Data.Alerts[0]; a.Labels["alertname"] != "PrometheusDown" || !strings.Contains(a.Annotations["summary"], "back after 1m0s") {
		t.Fatalf("recovery: %v %v", a.Labels, a.Annotations)
	}
}

func TestRestartWhileTheWatchdogWasStopped(t *testing.T) {
	prom := newFakeProm(t)
	e := newEnv(t, fmt.Sprintf(promTarget, prom.url()))
	expect(t, "healthy", e.tick(0))
	e.restartWatchdog()
	prom.restart(prom.startTime.Add(time.Hour))
	expect(t, "the first probe after our own restart", e.tick(10*time.Minute), "restarted/warning")
	expect(t, "same start time", e.tick(30*time.Second))
}

func TestCrashLoop(t *testing.T) {
	prom := newFakeProm(t)
	e := newEnv(t, fmt.Sprintf(promTarget, prom.url()))
	expect(t, "healthy", e.tick(0))
	for i, want := range [][]string{{"restarted/warning"}, {"restarted/warning"}, {"restarted/warning", "crashloop/critical"}, {"restarted/warning"}} {
		start := e.now.Add(4 * time.Minute)
		prom.set(func(f *fakeProm) { f.startTime = start })
		expect(t, fmt.Sprintf("restart %d", i+1), e.tick(4*time.Minute), want...)
	}
	// Quiet for longer than the window: the loop is over (said once), and a new one alerts again.
	expect(t, "quiet", e.tick(20*time.Minute), "crashloop_over/info")
	for i, want := range [][]string{{"restarted/warning"}, {"restarted/warning"}, {"restarted/warning", "crashloop/critical"}} {
		start := e.now.Add(time.Minute)
		prom.set(func(f *fakeProm) { f.startTime = start })
		expect(t, fmt.Sprintf("second loop, restart %d", i+1), e.tick(time.Minute), want...)
	}
}

func TestReloadFailureAndNoAlertmanager(t *testing.T) {
	prom := newFakeProm(t)
	e := newEnv(t, fmt.Sprintf(promTarget, prom.url()))
	expect(t, "healthy", e.tick(0))
	prom.set(func(f *fakeProm) { f.reloadOK = false })
	expect(t, "reload failed", e.tick(30*time.Second), "config_reload_failed/warning")
	expect(t, "still failed", e.tick(30*time.Second))
	prom.set(func(f *fakeProm) { f.reloadOK, f.alertmanagers = true, 0 })
	expect(t, "reloaded, but no Alertmanager once", e.tick(30*time.Second), "config_reload_recovered/info")
	e.restartWatchdog()
	expect(t, "no Alertmanager twice, across our restart", e.tick(30*time.Second), "no_alertmanager/critical")
	expect(t, "still none", e.tick(30*time.Second))
	prom.set(func(f *fakeProm) { f.alertmanagers = 2 })
	expect(t, "connected", e.tick(30*time.Second), "alertmanager_connected/info")
}

// Right after a start, Prometheus has not yet discovered its Alertmanagers: that is no
// reason to page.
func TestNoAlertmanagerWaitsForDiscovery(t *testing.T) {
	prom := newFakeProm(t)
	e := newEnv(t, fmt.Sprintf(promTarget, prom.url()))
	prom.set(func(f *fakeProm) { f.startTime, f.alertmanagers = e.now.Add(-5*time.Second), 0 })
	expect(t, "just started", e.tick(0))
	expect(t, "10s after start", e.tick(5*time.Second))
	expect(t, "20s after start", e.tick(10*time.Second))
	expect(t, "35s after start", e.tick(15*time.Second), "no_alertmanager/critical")
}

func TestAlertmanagerTarget(t *testing.T) {
	am := newFakeProm(t)
	e := newEnv(t, fmt.Sprintf(`watchdog:
  confirm: 1
  receivers: [cms]
  alertmanager:
    - name: am-main
      url: %s
`, am.url()))
	expect(t, "healthy", e.tick(0))
	am.set(func(f *fakeProm) { f.status = http.StatusInternalServerError })
	expect(t, "confirm: 1", e.tick(30*time.Second), "down/info")
	am.restart(am.startTime.Add(time.Minute))
	expect(t, "restarted", e.tick(30*time.Second), "recovered/info", "restarted/warning")
	ns, _ := e.store.List(context.Background(), store.Filter{Limit: 1})
	if !strings.Contains(strings.Join(ns[0].AlertNames, ","), "AlertmanagerRestarted") {
		t.Fatalf("alert names %v", ns[0].AlertNames)
	}
}

func TestErrorsHideURLPasswords(t *testing.T) {
	prom := newFakeProm(t)
	url := strings.Replace(prom.url(), "http://", "http://admin:s3cret@", 1)
	e := newEnv(t, fmt.Sprintf(promTarget, url))
	prom.stop()
	e.tick(0)
	e.tick(30 * time.Second)
	ns, _ := e.store.List(context.Background(), store.Filter{Limit: 10})
	st, _ := e.wd.Status(context.Background())
	raw, _ := json.Marshal(st)
	if len(ns) == 0 {
		t.Fatal("no down event")
	}
	m, err := dispatch.Decode(&ns[0])
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := json.Marshal(m.Data)
	for _, text := range []string{string(stored), string(raw)} {
		if strings.Contains(text, "s3cret") || !strings.Contains(text, "admin:xxxxx@") {
			t.Fatalf("password shown, or URL missing: %s", text)
		}
	}
}

const heartbeatConfig = `watchdog:
  receivers: [cms]
  heartbeat:
    alertname: Watchdog
    timeout: 10m
`

func (e *env) heartbeat(source string) {
	e.t.Helper()
	if err := e.store.Update(context.Background(), func(tx *store.Tx) error { return tx.TouchHeartbeat(source, e.now) }); err != nil {
		e.t.Fatal(err)
	}
}

func TestHeartbeatSwitch(t *testing.T) {
	e := newEnv(t, heartbeatConfig)
	e.heartbeat("prom-a")
	for i := range 9 {
		e.heartbeat("prom-a")
		expect(t, fmt.Sprintf("heartbeat %d", i), e.tick(time.Minute))
	}
	// prom-a stops (its last heartbeat came at minute 8); prom-b begins and keeps going.
	e.heartbeat("prom-b")
	expect(t, "prom-a silent 2m", e.tick(time.Minute))
	for range 7 {
		e.heartbeat("prom-b")
		expect(t, "prom-a silent", e.tick(time.Minute))
	}
	e.heartbeat("prom-b")
	expect(t, "prom-a silent 10m", e.tick(time.Minute), "heartbeat_missing/critical")
	e.restartWatchdog()
	e.heartbeat("prom-b")
	expect(t, "after our restart", e.tick(time.Minute))
	e.heartbeat("prom-a")
	expect(t, "prom-a is back", e.tick(time.Minute), "heartbeat_recovered/info")

	st, _ := e.wd.Status(context.Background())
	if len(st.Heartbeats) != 2 || st.Heartbeats[0].Source != "prom-a" || st.Heartbeats[0].Missing {
		t.Fatalf("heartbeat status %+v", st.Heartbeats)
	}
}

func TestHeartbeatThatNeverArrives(t *testing.T) {
	e := newEnv(t, heartbeatConfig)
	expect(t, "start", e.tick(0))
	expect(t, "9m", e.tick(9*time.Minute))
	expect(t, "10m", e.tick(time.Minute), "heartbeat_missing/critical")
	expect(t, "11m", e.tick(time.Minute))
	e.heartbeat("prom-a")
	expect(t, "first heartbeat", e.tick(time.Minute), "heartbeat_recovered/info")
	expect(t, "then quiet", e.tick(time.Minute))
}

// Run schedules ticks in-process with cron; stopping it waits for the running tick.
func TestRunProbesOnItsOwn(t *testing.T) {
	prom := newFakeProm(t)
	e := newEnv(t, fmt.Sprintf(strings.Replace(promTarget, "30s", "1s", 1), prom.url()))
	e.wd.now = time.Now
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.wd.Run(ctx); close(done) }()
	testenv.Eventually(t, 10*time.Second, "Run to probe", func() bool {
		st, err := e.wd.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return st.Targets[0].State == stateUp
	})
	cancel()
	<-done
}

// aliyun_cms names its event by level: the event's level must reach it as severity.
func TestEventLevelsPickCMSEventNames(t *testing.T) {
	for _, e := range []Event{
		{Kind: EventDown, Level: LevelInfo, TargetKind: KindPrometheus},
		{Kind: EventDown, Level: LevelWarning, TargetKind: KindPrometheus},
		{Kind: EventDown, Level: LevelCritical, TargetKind: KindPrometheus},
		{Kind: EventRecovered, Level: LevelInfo, TargetKind: KindPrometheus, Resolved: true},
		{Kind: EventHeartbeatMissing, Level: LevelCritical, TargetKind: "heartbeat"},
	} {
		n := e.notification("cms")
		if got := aliyuncms.Level(&n.Data.Alerts[0]); got != e.Level {
			t.Errorf("%s/%s reaches aliyun_cms as level %s", e.Kind, e.Level, got)
		}
	}
}

// While alertrouter itself was stopped nobody could receive the heartbeat: that
// silence is not the pipeline's fault.
func TestHeartbeatSilenceCountsFromOurOwnStart(t *testing.T) {
	e := newEnv(t, heartbeatConfig)
	e.heartbeat("prom-a")
	expect(t, "heartbeat", e.tick(time.Minute))
	e.now = e.now.Add(30 * time.Minute) // alertrouter was down for half an hour
	e.restartWatchdog()
	expect(t, "first tick after our restart", e.tick(0))
	expect(t, "9m after our restart", e.tick(9*time.Minute))
	expect(t, "10m after our restart", e.tick(time.Minute), "heartbeat_missing/critical")
}

// Behind a URL that balances over two replicas the start time alternates: that is
// not a restart.
func TestAlternatingStartTimesAreNotRestarts(t *testing.T) {
	prom := newFakeProm(t)
	e := newEnv(t, fmt.Sprintf(promTarget, prom.url()+"/")) // a trailing slash works too
	newer := prom.startTime
	expect(t, "replica A", e.tick(0))
	prom.set(func(f *fakeProm) { f.startTime = newer.Add(-time.Hour) })
	expect(t, "replica B, started earlier", e.tick(30*time.Second))
	prom.set(func(f *fakeProm) { f.startTime = newer })
	expect(t, "replica A again", e.tick(30*time.Second))
	prom.set(func(f *fakeProm) { f.startTime = newer.Add(time.Minute) })
	expect(t, "a real restart", e.tick(30*time.Second), "restarted/warning")
}

// The timeout bounds the whole probe, its four requests together: requests that are
// each quick enough but together outlast the timeout (0.8s at a 1s interval) fail it.
func TestTheWholeProbeIsBounded(t *testing.T) {
	prom := newFakeProm(t)
	e := newEnv(t, fmt.Sprintf(strings.Replace(strings.Replace(promTarget, "30s", "1s", 1), "confirm: 2", "confirm: 1", 1), prom.url()))
	prom.set(func(f *fakeProm) { f.delay = 300 * time.Millisecond })
	expect(t, "slow probe", e.tick(0), "down/info")
	st, _ := e.wd.Status(context.Background())
	if !strings.Contains(st.Targets[0].LastError, "timed out") {
		t.Fatalf("last error %q, want a timeout", st.Targets[0].LastError)
	}
}

// A target named after one of alertmanagers is probed with its credentials: refused
// without them, as a protected Alertmanager refuses.
func TestNamedAlertmanagerIsProbedWithItsCredentials(t *testing.T) {
	am := newFakeProm(t)
	guarded := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != "watchdog" || pass != "s3cret" {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		proxy := httputil.NewSingleHostReverseProxy(mustParse(t, am.url()))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(guarded.Close)
	e := newEnv(t, namedAlertmanager(guarded.URL, "    basic_auth: {username: watchdog, password: s3cret}\n"))
	expect(t, "healthy with its credentials", e.tick(0))
	if st, _ := e.wd.Status(context.Background()); len(st.Targets) != 1 || st.Targets[0].State != "up" {
		t.Fatalf("status %+v, want am-main up", st.Targets)
	}
	without := newEnv(t, namedAlertmanager(guarded.URL, ""))
	expect(t, "down without them", without.tick(0), "down/info")
}

// namedAlertmanager is a config whose watchdog probes am-main of alertmanagers, at url
// with auth (YAML lines of its entry).
func namedAlertmanager(url, auth string) string {
	return fmt.Sprintf(`alertmanagers:
  - name: am-main
    url: %s
%swatchdog:
  confirm: 1
  receivers: [cms]
  alertmanager:
    - name: am-main
`, url, auth)
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// A proxy that echoes the request in its error page does not make the probe's error,
// shown in the status and the event, show the credentials.
func TestProbeErrorsHideEchoedCredentials(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, password, _ := r.BasicAuth()
		http.Error(w, fmt.Sprintf("bad gateway: Authorization: %s (%s:%s)", r.Header.Get("Authorization"), user, password), http.StatusBadGateway)
	}))
	t.Cleanup(echo.Close)
	for _, auth := range []string{"    bearer_token: s3cr3t-token\n", "    basic_auth: {username: u, password: s3cr3t-password}\n"} {
		e := newEnv(t, namedAlertmanager(echo.URL, auth))
		expect(t, "down", e.tick(0), "down/info")
		st, _ := e.wd.Status(context.Background())
		raw, _ := json.Marshal(st)
		basic := base64.StdEncoding.EncodeToString([]byte("u:s3cr3t-password"))
		if !strings.Contains(string(raw), "502") || strings.Contains(string(raw), "s3cr3t") || strings.Contains(string(raw), basic) {
			t.Errorf("the status shows the credentials, or not the error: %s", raw)
		}
	}
}

// The probe's error quotes only the start of the echo: a token that the cut splits is
// hidden too, not left with its first characters.
func TestProbeErrorsHideCutCredentials(t *testing.T) {
	const token = "s3cr3t-token-0123456789"
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, strings.Repeat("x", 180)+" "+r.Header.Get("Authorization"), http.StatusBadGateway)
	}))
	t.Cleanup(echo.Close)
	e := newEnv(t, namedAlertmanager(echo.URL, "    bearer_token: "+token+"\n"))
	expect(t, "down", e.tick(0), "down/info")
	st, _ := e.wd.Status(context.Background())
	raw, _ := json.Marshal(st)
	if !strings.Contains(string(raw), "502") || strings.Contains(string(raw), token[:6]) {
		t.Errorf("the status shows the start of the token, or not the error: %s", raw)
	}
}
