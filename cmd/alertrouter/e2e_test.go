package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/alertrouter/alertrouter/internal/amtest"
	"github.com/alertrouter/alertrouter/internal/pgtest"
	"github.com/alertrouter/alertrouter/internal/testenv"
	"github.com/alertrouter/alertrouter/receivers/log"
	"github.com/alertrouter/alertrouter/receivers/webhook/webhooktest"
	"github.com/alertrouter/alertrouter/store"
)

// e2eStart is when the alerts these tests post started.
var e2eStart = time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)

// The README's first command: serve with no config, post the example payload, see one JSON line.
func TestServeOnEmbeddedDefault(t *testing.T) {
	dir := t.TempDir()
	addr := testenv.FreeAddr(t)
	p := testenv.Start(t, dir, binary(t), "serve", "--web.listen-address="+addr)
	testenv.WaitReady(t, p, "http://"+addr+"/-/ready")
	body, err := os.ReadFile("../../examples/payloads/firing.json")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+addr+"/webhook", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(answer) != `{"status":"success","data":{"alerts":2,"notifications":1,"suppressed":0}}`+"\n" {
		t.Fatalf("POST /webhook = %d %s", resp.StatusCode, answer)
	}
	testenv.Eventually(t, 10*time.Second, "the log line", func() bool { return strings.Contains(p.Stdout(), "\n") })
	var line log.Line
	if err := json.Unmarshal([]byte(p.Stdout()), &line); err != nil {
		t.Fatalf("stdout is not one JSON line: %v\n%s", err, p.Stdout())
	}
	if line.Receiver != "log" || line.Hostgroup != "gpu-render-a" || len(line.Alerts) != 2 || line.Alerts[0].Labels["alertname"] != "ComfyUI_Down" {
		t.Fatalf("log line = %+v", line)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "alertrouter.db")); err != nil {
		t.Fatalf("database not under ./data: %v", err)
	}
	if code := p.Stop(t); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d", code)
	}
}

// The unclustered Alertmanager pair, both sending every alert: each firing and each
// resolution reaches its receiver once. On SQLite both send to one router; in replicated
// mode each sends to its own replica, and the replicas share one PostgreSQL.
func TestAlertmanagerPairDeliversOnce(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		alertmanagerPairDeliversOnce(t, func(dir string) string { return "--storage.path=" + filepath.Join(dir, "data") }, 1)
	})
	t.Run("postgres-replicas", func(t *testing.T) {
		url := pgtest.New(t)
		alertmanagerPairDeliversOnce(t, func(string) string { return "--storage.url=" + url }, 2)
	})
}

// alertmanagerPairDeliversOnce runs routers routers on storage (its flag, for a
// directory of the router's), and the Alertmanager pair: Alertmanager i sends to router
// i, or to the one router.
func alertmanagerPairDeliversOnce(t *testing.T, storage func(dir string) string, routers int) {
	am := testenv.RequireCommand(t, "prometheus-alertmanager")
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("e2e-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := webhooktest.New(t)
	cfg := fmt.Sprintf(`
webhook:
  bearer_token_file: %s
receivers:
  - name: pay-hook
    webhook:
      url: %s/hook
  - name: ops-log
    log: {}
routes:
  - hostgroup: fg-ng-ec-microloan
    receivers: [pay-hook]
default_receivers: [ops-log]
`, token, rec.URL())
	var procs []*testenv.Process
	var addrs []string
	for range routers {
		routerDir, addr := t.TempDir(), testenv.FreeAddr(t)
		procs = append(procs, startRouterOn(t, routerDir, addr, cfg, storage(routerDir)))
		addrs = append(addrs, addr)
	}
	sum := func(name, match string) float64 {
		var n float64
		for _, addr := range addrs {
			n += metric(t, addr, name, match)
		}
		return n
	}
	stdout := func() string {
		var out strings.Builder
		for _, p := range procs {
			out.WriteString(p.Stdout())
		}
		return out.String()
	}

	var ams []string
	for i := range 2 {
		amAddr, _ := startAlertmanager(t, am, filepath.Join(dir, fmt.Sprintf("am%d", i)), addrs[i%routers], token)
		ams = append(ams, amAddr)
	}

	startsAt := time.Now().UTC().Add(-time.Minute)
	postAlerts := func(endsAt time.Time) {
		t.Helper()
		var alerts []testAlert
		for _, a := range []struct{ hostgroup, instance string }{
			{"fg-ng-ec-microloan", "pay-1"}, {"fg-ng-ec-microloan", "pay-2"}, {"gpu-render-a", "gpu-1"},
		} {
			alerts = append(alerts, testAlert{name: "TestDown", hostgroup: a.hostgroup, instance: a.instance, startsAt: startsAt, endsAt: endsAt})
		}
		postToAlertmanagers(t, ams, alerts...)
	}

	postAlerts(time.Time{})
	// Both Alertmanagers have notified (3 alerts each) and the outbox is empty.
	testenv.Eventually(t, 30*time.Second, "both Alertmanagers' firing notifications", func() bool {
		return sum("alertrouter_alerts_received_total", `status="firing"`) >= 6 &&
			metric(t, addrs[0], "alertrouter_outbox_pending", "") == 0
	})
	for _, addr := range addrs {
		if n := metric(t, addr, "alertrouter_alerts_received_total", `status="firing"`); n < 3 {
			t.Errorf("router %s received %v firing alerts, want its Alertmanager's 3 at least", addr, n)
		}
	}
	for _, key := range []string{"firing pay-1", "firing pay-2"} {
		if n := rec.AlertCounts("instance")[key]; n != 1 {
			t.Errorf("%s delivered %d times, want once: %v", key, n, rec.AlertCounts("instance"))
		}
	}
	if n := rec.AlertCounts("instance")["firing gpu-1"]; n != 0 {
		t.Errorf("gpu-1 reached pay-hook: %v", rec.AlertCounts("instance"))
	}
	if n := strings.Count(stdout(), `"instance":"gpu-1"`); n != 1 {
		t.Errorf("gpu-1 printed %d times by the log receiver, want once:\n%s", n, stdout())
	}
	// Each alert came from both Alertmanagers (and an Alertmanager may flush a group more
	// than once): at least one suppressed copy per alert.
	if n := sum("alertrouter_alerts_suppressed_total", `reason="duplicate"`); n < 3 {
		t.Errorf("suppressed duplicates = %v, want at least 3", n)
	}

	postAlerts(time.Now().UTC())
	testenv.Eventually(t, 30*time.Second, "both Alertmanagers' resolved notifications", func() bool {
		return sum("alertrouter_alerts_received_total", `status="resolved"`) >= 6 &&
			metric(t, addrs[0], "alertrouter_outbox_pending", "") == 0
	})
	for _, key := range []string{"resolved pay-1", "resolved pay-2", "firing pay-1", "firing pay-2"} {
		if n := rec.AlertCounts("instance")[key]; n != 1 {
			t.Errorf("%s delivered %d times, want once: %v", key, n, rec.AlertCounts("instance"))
		}
	}
	for _, p := range procs {
		if code := p.Stop(t); code != 0 {
			t.Errorf("router exit code %d", code)
		}
	}
}

// storm posts webhooks of perWebhook firing "Burst" alerts from 8 clients, and calls kill
// once killAfter webhooks were answered 200; it stops posting then. alert names each
// alert's instance and hostgroup. It returns the instances of the alerts answered 200.
func storm(t *testing.T, addr, token string, webhooks, perWebhook int, killAfter int64, kill func(), alert func(i, j int) (instance, hostgroup string)) []string {
	t.Helper()
	var (
		mu       sync.Mutex
		accepted []string
		answered atomic.Int64
		killed   = make(chan struct{})
		once     sync.Once
		wg       sync.WaitGroup
	)
	jobs := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range jobs {
				instances, code := postBurst(addr, token, i, perWebhook, alert)
				if code == http.StatusOK {
					mu.Lock()
					accepted = append(accepted, instances...)
					mu.Unlock()
					if answered.Add(1) == killAfter {
						once.Do(func() { kill(); close(killed) })
					}
				}
			}
		})
	}
	for i := range webhooks {
		select {
		case <-killed:
		case jobs <- i:
			continue
		}
		break
	}
	close(jobs)
	wg.Wait()
	<-killed
	return accepted
}

// postBurst posts webhook i of a storm, perWebhook "Burst" alerts named by alert, and
// returns their instances and the answer's status (0 when the router is unreachable).
func postBurst(addr, token string, i, perWebhook int, alert func(i, j int) (instance, hostgroup string)) ([]string, int) {
	var instances []string
	w := amtest.Webhook{Receiver: "r", GroupKey: "g", ExternalURL: "http://am"}
	for j := range perWebhook {
		inst, hostgroup := alert(i, j)
		instances = append(instances, inst)
		w.Alerts = append(w.Alerts, amtest.Alert{Labels: map[string]string{"alertname": "Burst", "hostgroup": hostgroup, "instance": inst}, StartsAt: e2eStart})
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhook", strings.NewReader(w.String()))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return instances, 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return instances, resp.StatusCode
}

// SIGKILL while a burst is being delivered: after a restart, every alert that was
// answered 200 is delivered, and no notification is left pending or dead.
func TestSIGKILLDuringBurstLosesNothing(t *testing.T) {
	dir := t.TempDir()
	rec := webhooktest.New(t)
	rec.SetDelay(20 * time.Millisecond)
	addr := testenv.FreeAddr(t)
	cfg := fmt.Sprintf(`
receivers:
  - name: hook
    webhook:
      url: %s/hook
routes:
  - hostgroup_regex: 'hg-.*'
    receivers: [hook]
default_receivers: [hook]
`, rec.URL())
	router := startRouter(t, dir, addr, cfg)

	accepted := storm(t, addr, "", 400, 5, 150, router.Kill, func(i, j int) (string, string) {
		return fmt.Sprintf("i-%d-%d", i, j), fmt.Sprintf("hg-%d", i%4)
	})
	deliveredAtKill := rec.Alerts()
	acceptedN := len(accepted)
	if deliveredAtKill >= acceptedN {
		t.Fatalf("all %d accepted alerts were delivered before the kill: the test proved nothing", acceptedN)
	}
	t.Logf("killed with %d of %d accepted alerts delivered", deliveredAtKill, acceptedN)

	startRouter(t, dir, addr, cfg)
	testenv.Eventually(t, 120*time.Second, "every accepted alert delivered after the restart", func() bool {
		seen := rec.AlertCounts("instance")
		for _, inst := range accepted {
			if seen["firing "+inst] == 0 {
				return false
			}
		}
		return true
	})
	dups := 0
	for _, n := range rec.AlertCounts("instance") {
		dups += n - 1
	}
	t.Logf("%d accepted alerts delivered, %d delivered twice (at-least-once around the kill)", acceptedN, dups)

	resp, err := http.Get("http://" + addr + "/api/v1/notifications?status=dead")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != `{"status":"success","data":[]}`+"\n" {
		t.Fatalf("dead notifications after restart: %s", b)
	}
	testenv.Eventually(t, 30*time.Second, "an empty outbox", func() bool {
		return metric(t, addr, "alertrouter_outbox_pending", "") == 0
	})
}

// SIGHUP reloads the config file; a broken file is rejected and the old config keeps serving.
func TestSIGHUPReload(t *testing.T) {
	dir := t.TempDir()
	addr := testenv.FreeAddr(t)
	router := startRouter(t, dir, addr, "receivers:\n  - {name: first, log: {}}\ndefault_receivers: [first]\n")
	cfgFile := filepath.Join(dir, "alertrouter.yml")
	post := func(instance string) {
		t.Helper()
		body := amtest.Webhook{Alerts: []amtest.Alert{{Labels: map[string]string{"alertname": "Reload", "instance": instance}, StartsAt: e2eStart}}}.String()
		resp, err := http.Post("http://"+addr+"/webhook", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("webhook = %d", resp.StatusCode)
		}
	}
	reload := func(cfg string, wantOK float64) {
		t.Helper()
		if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := router.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 10*time.Second, "the reload", func() bool {
			return metric(t, addr, "alertrouter_config_last_reload_successful", "") == wantOK &&
				strings.Contains(router.Stderr(), map[float64]string{0: "Config reload failed", 1: "Config reloaded"}[wantOK])
		})
	}
	reload("receivers: [\n", 0)
	post("i1")
	testenv.Eventually(t, 10*time.Second, "delivery with the old config", func() bool {
		return strings.Contains(router.Stdout(), `"receiver":"first"`)
	})
	reload("receivers:\n  - {name: second, log: {}}\ndefault_receivers: [second]\n", 1)
	post("i2")
	testenv.Eventually(t, 10*time.Second, "delivery with the new config", func() bool {
		return strings.Contains(router.Stdout(), `"receiver":"second"`)
	})
}

// The example configs users copy must pass the tools of the programs they configure,
// and the rule packs, exported as the compose file says, lint clean against them.
func TestExamplesPassTheirTools(t *testing.T) {
	amtool := testenv.RequireCommand(t, "amtool")
	promtool := testenv.RequireCommand(t, "promtool")
	rules := t.TempDir()
	for _, c := range [][]string{
		{amtool, "check-config", "../../examples/alertmanager.yml"},
		{promtool, "check", "config", "--syntax-only", "../../examples/prometheus.yml"},
		{binary(t), "config", "check", "--config.file=../../examples/alertrouter.yml"},
		{binary(t), "rules", "export", "--dir", rules},
		{binary(t), "rules", "lint", "--fail-on=info", "--prometheus.config=../../examples/prometheus.yml",
			"--config.file=../../examples/alertrouter.yml", rules},
	} {
		out, err := exec.Command(c[0], c[1:]...).CombinedOutput()
		if err != nil {
			t.Errorf("%v: %v\n%s", c, err, out)
		}
	}
}

// A backup taken while the router runs holds what it had accepted, and restores by
// being put into a storage directory.
func TestBackupWhileServing(t *testing.T) {
	dir := t.TempDir()
	addr := testenv.FreeAddr(t)
	router := startRouter(t, dir, addr, "receivers:\n  - name: ops\n    log: {}\ndefault_receivers: [ops]\n")
	body, err := os.ReadFile("../../examples/payloads/firing.json")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+addr+"/webhook", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST: %v %v", err, resp)
	}
	resp.Body.Close()

	copyFile := filepath.Join(t.TempDir(), "backup.db")
	if code, out, errOut := runCLI(t, "backup", "--storage.path="+filepath.Join(dir, "data"), copyFile); code != 0 {
		t.Fatalf("backup: %d %s %s", code, out, errOut)
	}
	if code, _, _ := runCLI(t, "backup", "--storage.path="+filepath.Join(dir, "data"), copyFile); code == 0 {
		t.Fatal("backup overwrote an existing file")
	}
	restored := t.TempDir()
	if err := os.Rename(copyFile, filepath.Join(restored, store.FileName)); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), restored)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ns, err := st.List(context.Background(), store.Filter{Limit: 10})
	if err != nil || len(ns) != 1 || ns[0].AlertNames[0] != "ComfyUI_Down" {
		t.Fatalf("restored notifications %+v, %v", ns, err)
	}
	if code := router.Stop(t); code != 0 {
		t.Fatalf("router exit %d", code)
	}
}

// A second serve, watchdog or migrate on the storage of a running router exits at once
// and says who holds it, instead of delivering everything a second time.
func TestSecondProcessOnTheSameStorageExits(t *testing.T) {
	dir := t.TempDir()
	addr := testenv.FreeAddr(t)
	router := startRouter(t, dir, addr, "receivers:\n  - {name: ops, log: {}}\ndefault_receivers: [ops]\nwatchdog:\n  receivers: [ops]\n  heartbeat: {}\n")
	storage := filepath.Join(dir, "data")
	want := fmt.Sprintf("storage %s is in use by another alertrouter (pid %d)", storage, router.Cmd.Process.Pid)
	for _, args := range [][]string{
		{"serve", "--storage.path=" + storage, "--web.listen-address=" + testenv.FreeAddr(t)},
		{"watchdog", "--config.file=" + filepath.Join(dir, "alertrouter.yml"), "--storage.path=" + storage, "--web.listen-address=" + testenv.FreeAddr(t)},
		{"migrate", "--storage.path=" + storage},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out, err := exec.CommandContext(ctx, binary(t), args...).CombinedOutput()
		cancel()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), want) {
			t.Errorf("%s on a storage in use: %v\n%s\nwant exit 1 and %q", args[0], err, out, want)
		}
	}
	if code := router.Stop(t); code != 0 {
		t.Fatalf("router exit %d", code)
	}
}

// Slow clients cannot starve the server: with 128 file descriptors, 150 connections that
// send headers and part of a body, and some that stay idle, are closed after
// --web.read-timeout, and /-/healthy answers meanwhile.
func TestSlowClientsDoNotStarveTheServer(t *testing.T) {
	dir := t.TempDir()
	addr := testenv.FreeAddr(t)
	p := testenv.Start(t, dir, "sh", "-c", `ulimit -n 128 && exec "$0" "$@"`, binary(t), "serve",
		"--web.listen-address="+addr, "--storage.path="+filepath.Join(dir, "data"), "--web.read-timeout=2s")
	testenv.WaitReady(t, p, "http://"+addr+"/-/ready")

	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range 150 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if i%3 == 0 {
			continue // connected and idle, sending nothing
		}
		fmt.Fprintf(c, "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"version\":")
	}
	client := &http.Client{Timeout: time.Second}
	testenv.Eventually(t, 30*time.Second, "/-/healthy to answer while 150 slow clients hold connections", func() bool {
		resp, err := client.Get("http://" + addr + "/-/healthy")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, err := io.ReadAll(c)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("slow connection %d is still open after 30s: the read timeout did not close it", i)
		}
	}
	if code := p.Stop(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// On a full disk every webhook gets 503 and /-/ready says so; once there is space again
// webhooks are taken and ready is 200 again. The disk is a small tmpfs, mounted by the
// test (which needs root, as CI has).
func TestFullDisk(t *testing.T) {
	testenv.SkipShort(t)
	dir := t.TempDir()
	storage := filepath.Join(dir, "data")
	if err := os.Mkdir(storage, 0o750); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", storage).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", storage).Run() })
	filler := filepath.Join(storage, "filler")
	if err := os.WriteFile(filler, make([]byte, 6<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := testenv.FreeAddr(t)
	router := startRouter(t, dir, addr, "receivers:\n  - {name: ops, log: {}}\ndefault_receivers: [ops]\n")
	post := func(i int) int {
		w := amtest.Webhook{Receiver: "r", ExternalURL: "http://am"}
		for j := range 50 {
			w.Alerts = append(w.Alerts, amtest.Alert{StartsAt: e2eStart,
				Labels:      map[string]string{"alertname": "Fill", "instance": fmt.Sprintf("i-%d-%d", i, j)},
				Annotations: map[string]string{"description": strings.Repeat("x", 2000)}})
		}
		resp, err := http.Post("http://"+addr+"/webhook", "application/json", strings.NewReader(w.String()))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	ready := func() int {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	i := 0
	for ; i < 1000 && post(i) == http.StatusOK; i++ {
	}
	if code := post(i); code != http.StatusServiceUnavailable {
		t.Fatalf("after %d webhooks on a full disk: %d, want 503", i, code)
	}
	if code := ready(); code != http.StatusServiceUnavailable {
		t.Fatalf("/-/ready on a full disk = %d, want 503", code)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "webhooks taken again once there is space", func() bool {
		i++
		return post(i) == http.StatusOK
	})
	if code := ready(); code != http.StatusOK {
		t.Fatalf("/-/ready after a commit = %d, want 200", code)
	}
	if code := router.Stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
