package dispatch

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/alertrouter/alertrouter/store"
)

// benchBatch is a batch as amload's webhooks make them: 10 alerts of one host group.
func benchBatch() *Batch {
	b := &Batch{GroupLabels: template.KV{"hostgroup": "hg-1"}, ExternalURL: "http://amload:9093"}
	for i := range 10 {
		b.Alerts = append(b.Alerts, template.Alert{
			Status:      "firing",
			Labels:      template.KV{"alertname": "Load", "hostgroup": "hg-1", "instance": fmt.Sprintf("load-x-1-%d", i), "severity": "warning"},
			Annotations: template.KV{"summary": fmt.Sprintf("load test alert %d of webhook 1", i)},
			StartsAt:    time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC), GeneratorURL: "http://prometheus:9090/graph",
			Fingerprint: fmt.Sprintf("%016x", i),
		})
	}
	return b
}

// BenchmarkEncodeBatch and BenchmarkDecode measure a batch's way into the store and out
// to a receiver.
func BenchmarkEncodeBatch(b *testing.B) {
	batch := benchBatch()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeBatch(batch); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	body, err := EncodeBatch(benchBatch())
	if err != nil {
		b.Fatal(err)
	}
	n := &store.Notification{ID: 1, Receiver: "a", Status: "firing", Batch: body}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(n); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(body)), "stored-bytes")
}
