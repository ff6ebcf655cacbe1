package log

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/alertrouter/alertrouter/receivers"
)

func TestOneJSONLinePerNotification(t *testing.T) {
	var buf bytes.Buffer
	r := New(&Config{}, &buf)
	r.now = func() time.Time { return time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC) }
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			m := &receivers.Message{ID: int64(i), Receiver: "log", Route: "default", Hostgroup: "gpu-1",
				Data: &template.Data{Status: "firing", Alerts: template.Alerts{{Status: "firing", Labels: template.KV{"alertname": strings.Repeat("A", 5000)}}}}}
			if err := r.Send(context.Background(), m); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 50 {
		t.Fatalf("%d lines, want 50", len(lines))
	}
	for _, l := range lines {
		var got Line
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatalf("line is not JSON (interleaved write?): %v", err)
		}
		if got.Receiver != "log" || got.Hostgroup != "gpu-1" || got.Status != "firing" || len(got.Alerts) != 1 || got.Time.IsZero() {
			t.Fatalf("line = %+v", got)
		}
	}
}
