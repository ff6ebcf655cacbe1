package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alertrouter/alertrouter/internal/testenv"
)

// binaryDir holds alertrouter built once, at first use, for the tests that run it as a
// process; -short skips those tests and the build.
var (
	binaryDir  string
	buildOnce  sync.Once
	binaryPath string
	buildErr   error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "alertrouter-test-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binaryDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// binary returns the built alertrouter.
func binary(t testing.TB) string {
	t.Helper()
	testenv.SkipShort(t)
	buildOnce.Do(func() {
		binaryPath = filepath.Join(binaryDir, "alertrouter")
		out, err := exec.Command("go", "build", "-o", binaryPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build alertrouter: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binaryPath
}

// startRouter runs alertrouter serve with the config text in dir.
func startRouter(t *testing.T, dir, addr, cfg string) *testenv.Process {
	t.Helper()
	return startRouterOn(t, dir, addr, cfg, "--storage.path="+filepath.Join(dir, "data"))
}

// startRouterOn starts a router on the storage its flag names: a replica, with
// --storage.url.
func startRouterOn(t *testing.T, dir, addr, cfg, storageFlag string) *testenv.Process {
	t.Helper()
	cfgFile := filepath.Join(dir, "alertrouter.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := testenv.Start(t, dir, binary(t), "serve", "--config.file="+cfgFile, "--web.listen-address="+addr,
		storageFlag, "--log.level=debug")
	testenv.WaitReady(t, p, "http://"+addr+"/-/ready")
	return p
}

// metric reads one sample of the router's /metrics, summing over label sets that contain match.
func metric(t *testing.T, addr, name, match string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var sum float64
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, name) || !strings.Contains(line, match) {
			continue
		}
		rest := strings.TrimPrefix(line, name)
		if rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		var v float64
		if _, err := fmt.Sscanf(rest[strings.LastIndex(rest, " ")+1:], "%g", &v); err == nil {
			sum += v
		}
	}
	return sum
}

// startAlertmanager runs Alertmanager (the program am) in dir, sending every alert to the
// router at routerAddr within a second (grouped by alertname and hostgroup), with the
// bearer token in tokenFile unless it is "". It returns its address and its process.
func startAlertmanager(t *testing.T, am, dir, routerAddr, tokenFile string) (string, *testenv.Process) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	auth := ""
	if tokenFile != "" {
		auth = `
        http_config:
          authorization:
            type: Bearer
            credentials_file: ` + tokenFile
	}
	amConfig := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(amConfig, []byte(`
route:
  receiver: alertrouter
  group_by: [alertname, hostgroup]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: alertrouter
    webhook_configs:
      - url: http://`+routerAddr+`/webhook
        send_resolved: true
        max_alerts: 0`+auth+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := testenv.FreeAddr(t)
	return addr, runAlertmanager(t, am, dir, addr)
}

// runAlertmanager runs the Alertmanager of dir (startAlertmanager wrote its config) on
// addr, with its storage in dir: stopped and run again, it keeps its silences.
func runAlertmanager(t *testing.T, am, dir, addr string) *testenv.Process {
	t.Helper()
	p := testenv.Start(t, dir, am, "--config.file="+filepath.Join(dir, "alertmanager.yml"), "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--web.external-url=http://"+addr, "--cluster.listen-address=")
	testenv.WaitReady(t, p, "http://"+addr+"/-/ready")
	return p
}

// testAlert is an alert posted to Alertmanager's API; a zero endsAt leaves it firing.
type testAlert struct {
	name, hostgroup, instance string
	startsAt, endsAt          time.Time
}

// postToAlertmanagers posts alerts to every Alertmanager of ams, as a Prometheus that
// sends to a pair does.
func postToAlertmanagers(t *testing.T, ams []string, alerts ...testAlert) {
	t.Helper()
	var body []map[string]any
	for _, a := range alerts {
		al := map[string]any{
			"labels":       map[string]string{"alertname": a.name, "hostgroup": a.hostgroup, "instance": a.instance, "severity": "critical"},
			"annotations":  map[string]string{"summary": a.instance + " is down"},
			"startsAt":     a.startsAt.UTC().Format(time.RFC3339),
			"generatorURL": "http://prometheus/graph",
		}
		if !a.endsAt.IsZero() {
			al["endsAt"] = a.endsAt.UTC().Format(time.RFC3339)
		}
		body = append(body, al)
	}
	b, _ := json.Marshal(body)
	for _, addr := range ams {
		resp, err := http.Post("http://"+addr+"/api/v2/alerts", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s/api/v2/alerts = %d", addr, resp.StatusCode)
		}
	}
}
