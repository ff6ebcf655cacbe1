package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alertrouter/alertrouter/internal/amtest"
	"github.com/alertrouter/alertrouter/internal/testenv"
)

// logEvents lists the watchdog events the log receiver printed, as "alertname/event/severity/status".
func logEvents(t *testing.T, stdout string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if line == "" {
			continue
		}
		var n struct {
			Route  string `json:"route"`
			Alerts []struct {
				Status string            `json:"status"`
				Labels map[string]string `json:"labels"`
			} `json:"alerts"`
		}
		if err := json.Unmarshal([]byte(line), &n); err != nil {
			t.Fatalf("log line: %v\n%s", err, line)
		}
		for _, a := range n.Alerts {
			out = append(out, fmt.Sprintf("%s/%s/%s/%s", a.Labels["alertname"], a.Labels["event"], a.Labels["severity"], a.Status))
		}
	}
	return out
}

// `alertrouter watchdog`, the binary, on a real Prometheus: it takes heartbeats without
// delivering them, shows its state in the API and metrics, and delivers each event once
// through the outbox, escalating while Prometheus is killed and noting its restart.
func TestWatchdogCommand(t *testing.T) {
	dir := t.TempDir()
	promAddr, addr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	promConfig := "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:9']\nscrape_configs: []\n"
	promDir := t.TempDir()
	prom := testenv.StartPrometheus(t, promDir, promAddr, promConfig)

	cfgFile := filepath.Join(dir, "watchdog.yml")
	writeFile(t, dir, "watchdog.yml", fmt.Sprintf(`receivers:
  - name: ops
    log: {}
default_receivers: [ops]
watchdog:
  interval: 1s
  confirm: 2
  warning_after: 3s
  critical_after: 6s
  receivers: [ops]
  prometheus:
    - name: prom-main
      url: http://%s
  heartbeat:
    alertname: Watchdog
    timeout: 1m
`, promAddr))
	wd := testenv.Start(t, dir, binary(t), "watchdog", "--config.file="+cfgFile, "--web.listen-address="+addr, "--log.level=debug")
	testenv.WaitReady(t, wd, "http://"+addr+"/-/ready")

	status := func() string {
		resp, err := http.Get("http://" + addr + "/api/v1/watchdog")
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return fmt.Sprint(resp.StatusCode, " ", string(body))
	}
	testenv.Eventually(t, 15*time.Second, "prometheus up in the API", func() bool { return strings.Contains(status(), `"state":"up"`) })

	hb := amtest.Webhook{Receiver: "alertrouter", ExternalURL: "http://am:9093", Alerts: []amtest.Alert{{
		Labels:   map[string]string{"alertname": "Watchdog", "severity": "info", "prometheus": "prom-main"},
		StartsAt: time.Now(), Fingerprint: "abc",
	}}}.String()
	resp, err := http.Post("http://"+addr+"/webhook", "application/json", strings.NewReader(hb))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST heartbeat: %v %v", err, resp)
	}
	resp.Body.Close()
	if s := status(); !strings.Contains(s, `"source":"prom-main"`) {
		t.Fatalf("heartbeat not in the API: %s", s)
	}
	if v := metric(t, addr, "alertrouter_watchdog_heartbeat_age_seconds", `source="prom-main"`); v < 0 || v > 30 {
		t.Fatalf("heartbeat age metric %v", v)
	}

	prom.Kill()
	want := []string{"PrometheusDown/down/info/firing", "PrometheusDown/down/warning/firing", "PrometheusDown/down/critical/firing"}
	testenv.Eventually(t, 30*time.Second, "down escalated to critical", func() bool { return len(logEvents(t, wd.Stdout())) >= 3 })
	if got := logEvents(t, wd.Stdout()); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("events %v, want %v", got, want)
	}
	if v := metric(t, addr, "alertrouter_watchdog_target_up", `target="prom-main"`); v != 0 {
		t.Fatalf("target_up %v while Prometheus is dead", v)
	}

	testenv.StartPrometheus(t, promDir, promAddr, promConfig)
	want = append(want, "PrometheusDown/recovered/info/resolved", "PrometheusRestarted/restarted/warning/firing")
	testenv.Eventually(t, 30*time.Second, "restarted and recovered", func() bool { return len(logEvents(t, wd.Stdout())) >= 5 })
	time.Sleep(2 * time.Second)
	if got := logEvents(t, wd.Stdout()); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("events %v, want %v", got, want)
	}
	if code := wd.Stop(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
