package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alertrouter/alertrouter/internal/testenv"
)

// activeSilences are the active silences of the Alertmanager at addr, by id: their
// matchers as Alertmanager writes them, and their end.
func activeSilences(t *testing.T, addr string) map[string]string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/api/v2/silences")
	if err != nil {
		return nil // down
	}
	defer resp.Body.Close()
	var list []struct {
		ID       string `json:"id"`
		EndsAt   string `json:"endsAt"`
		Matchers []struct {
			Name, Value string
		} `json:"matchers"`
		Status struct {
			State string `json:"state"`
		} `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatalf("GET %s/api/v2/silences: %v", addr, err)
	}
	out := map[string]string{}
	for _, s := range list {
		if s.Status.State == "active" {
			var ms []string
			for _, m := range s.Matchers {
				ms = append(ms, m.Name+"="+m.Value)
			}
			out[s.ID] = strings.Join(ms, ",") + " until " + s.EndsAt
		}
	}
	return out
}

// Silences made through alertrouter, on a real, unclustered Alertmanager pair: each has
// the silence, once, even when it is made twice; one that was stopped gets it when it is
// back; the silenced alert stops reaching alertrouter while another one does; expired,
// the silence ends on both and its receiver hears of it once.
func TestSilencesOnARealAlertmanagerPair(t *testing.T) {
	am := testenv.RequireCommand(t, "prometheus-alertmanager")
	dir, addr := t.TempDir(), testenv.FreeAddr(t)
	am0, _ := startAlertmanager(t, am, filepath.Join(dir, "am0"), addr, "")
	am1, am1Process := startAlertmanager(t, am, filepath.Join(dir, "am1"), addr, "")
	router := startRouter(t, dir, addr, fmt.Sprintf(`
receivers:
  - name: gpu-log
    log: {}
  - name: ops-log
    log: {}
routes:
  - hostgroup: gpu-render-a
    receivers: [gpu-log]
default_receivers: [ops-log]
alertmanagers:
  - {name: am0, url: 'http://%s'}
  - {name: am1, url: 'http://%s'}
`, am0, am1))
	cli := func(args ...string) (int, string, string) {
		return runCLI(t, append(args, "--alertrouter.url=http://"+addr)...)
	}
	code, stdout, stderr := cli("silence", "add", `hostgroup="gpu-render-a"`, "--duration=1h", "--comment=driver update", "--author=alice")
	if code != 0 || !strings.HasPrefix(stdout, "silence 1 added: {hostgroup=\"gpu-render-a\"} until ") {
		t.Fatalf("silence add: %d\n%s%s", code, stdout, stderr)
	}
	testenv.Eventually(t, 30*time.Second, "the silence on both Alertmanagers", func() bool {
		return len(activeSilences(t, am0)) == 1 && len(activeSilences(t, am1)) == 1
	})
	before := activeSilences(t, am1)
	if code, stdout, _ := cli("silence", "add", `hostgroup="gpu-render-a"`, "--duration=2h", "--comment=longer"); code != 0 || !strings.HasPrefix(stdout, "silence 1 extended") {
		t.Fatalf("the same silence again: %d %s", code, stdout)
	}
	testenv.Eventually(t, 30*time.Second, "the longer silence on both, still one each", func() bool {
		now := activeSilences(t, am1)
		for id, s := range now {
			if old, ok := before[id]; ok && old != s && len(now) == 1 && len(activeSilences(t, am0)) == 1 {
				return true
			}
		}
		return false
	})

	// am1 is stopped while a silence is made; back, it gets it.
	am1Process.Stop(t)
	if code, stdout, stderr := cli("silence", "add", `alertname="NginxDown"`, `hostgroup="edge"`, "--preset=4h", "--comment=deploy"); code != 0 {
		t.Fatalf("silence add with am1 down: %d %s%s", code, stdout, stderr)
	}
	testenv.Eventually(t, 30*time.Second, "the second silence on am0", func() bool { return len(activeSilences(t, am0)) == 2 })
	code, stdout, _ = cli("silence", "list")
	if code != 0 || !strings.Contains(stdout, "am1: not yet") || !strings.Contains(stdout, "am0: has it") {
		t.Errorf("silence list with am1 down: %d\n%s", code, stdout)
	}
	runAlertmanager(t, am, filepath.Join(dir, "am1"), am1)
	testenv.Eventually(t, 60*time.Second, "the second silence on am1, back", func() bool { return len(activeSilences(t, am1)) == 2 })

	// The silenced alert does not reach alertrouter; one that is not silenced does.
	now := time.Now()
	postToAlertmanagers(t, []string{am0, am1},
		testAlert{name: "GPUTemperatureHigh", hostgroup: "gpu-render-a", instance: "gpu-7", startsAt: now},
		testAlert{name: "DiskFull", hostgroup: "edge", instance: "edge-3", startsAt: now})
	testenv.Eventually(t, 30*time.Second, "the alert that is not silenced", func() bool { return strings.Contains(router.Stdout(), "edge-3") })
	time.Sleep(3 * time.Second) // both groups flush together: the silenced one would be here by now
	if strings.Contains(router.Stdout(), "gpu-7") {
		t.Fatal("a silenced alert reached alertrouter")
	}

	// Expired: gone from both, and gpu-log hears of it once.
	if code, stdout, stderr := cli("silence", "expire", "1"); code != 0 || !strings.HasPrefix(stdout, "silence 1 expired") {
		t.Fatalf("silence expire: %d %s%s", code, stdout, stderr)
	}
	testenv.Eventually(t, 30*time.Second, "the notice that the silence ended", func() bool {
		return strings.Contains(router.Stdout(), `"alertname":"SilenceEnded"`)
	})
	testenv.Eventually(t, 30*time.Second, "the silence gone from both", func() bool {
		return len(activeSilences(t, am0)) == 1 && len(activeSilences(t, am1)) == 1
	})
	time.Sleep(6 * time.Second) // a silencer tick or more
	if n := strings.Count(router.Stdout(), `"alertname":"SilenceEnded"`); n != 1 {
		t.Errorf("the notice went out %d times, want once", n)
	}
	if !strings.Contains(router.Stdout(), `"receiver":"gpu-log","route":"silences"`) {
		t.Errorf("the notice did not go to gpu-log:\n%s", router.Stdout())
	}
}
