package watchdog

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alertrouter/alertrouter/internal/testenv"
)

// A real Prometheus (Debian's package), killed and started again under a running
// watchdog: down escalates info, warning, critical; the restart is seen as restarted
// and recovered, each once.
func TestRealPrometheusKilledAndRestarted(t *testing.T) {
	dir := t.TempDir()
	addr := testenv.FreeAddr(t)
	// An Alertmanager target (nothing listens there) keeps no_alertmanager quiet:
	// Prometheus lists configured Alertmanagers as active whether they answer or not.
	promConfig := `global:
  scrape_interval: 1s
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:9']
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['` + addr + `']
`
	prom := testenv.StartPrometheus(t, dir, addr, promConfig)
	e := newEnv(t, fmt.Sprintf(`watchdog:
  interval: 1s
  confirm: 2
  warning_after: 3s
  critical_after: 6s
  receivers: [cms, ops-slack]
  prometheus:
    - name: prom-main
      url: http://%s
`, addr))
	e.wd.now = time.Now
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.wd.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitFor := func(what string, want ...string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			got := e.outbox()
			if strings.Join(got, ",") == strings.Join(want, ",") {
				return
			}
			if len(got) > len(want) || time.Now().After(deadline) {
				st, _ := e.wd.Status(context.Background())
				t.Fatalf("%s: events %v, want %v; status %+v", what, got, want, st.Targets)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("prometheus up")
	testenv.Eventually(t, 10*time.Second, "the watchdog seeing Prometheus up", func() bool {
		st, _ := e.wd.Status(context.Background())
		return st.Targets[0].State == stateUp && !st.Targets[0].LastStartTime.IsZero()
	})

	prom.Kill()
	waitFor("killed", "down/info", "down/warning", "down/critical")

	testenv.StartPrometheus(t, dir, addr, promConfig)
	waitFor("started again", "down/info", "down/warning", "down/critical", "recovered/info", "restarted/warning")
	time.Sleep(3 * time.Second) // a few more probes: nothing new
	waitFor("steady", "down/info", "down/warning", "down/critical", "recovered/info", "restarted/warning")
}
