package router

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/internal/amtest"
	"github.com/alertrouter/alertrouter/internal/pgtest"
	"github.com/alertrouter/alertrouter/store"
)

// benchConfig sends every alert to two receivers, as in the load target.
const benchConfig = `
receivers:
  - {name: a, log: {}}
  - {name: b, log: {}}
routes:
  - hostgroup_regex: '.+'
    receivers: [a, b]
default_receivers: [a]
`

var benchStart = time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)

// BenchmarkWebhook measures the webhook path: decode, route, dedupe and commit of
// 10-alert webhooks whose alerts are all new, so each one is claimed for two receivers,
// on each backend: the SQLite file, and a PostgreSQL on a local socket.
func BenchmarkWebhook(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		st, err := store.Open(context.Background(), b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		benchmarkWebhook(b, st)
	})
	b.Run("postgres", func(b *testing.B) {
		st, err := store.OpenPostgres(context.Background(), pgtest.New(b))
		if err != nil {
			b.Fatal(err)
		}
		// As a running replica alone on its database: it delivers for both receivers.
		for _, r := range []string{"a", "b"} {
			if held, err := st.Lease(context.Background(), store.ReceiverLease(r)); err != nil || !held {
				b.Fatal(held, err)
			}
		}
		benchmarkWebhook(b, st)
	})
	// Two replicas on one database, each taking half the webhooks (every alert new, so
	// nothing is a copy): one of them delivers for both receivers, so the other's
	// commits notify it.
	b.Run("postgres-two-replicas", func(b *testing.B) {
		url := pgtest.New(b)
		var stores []*store.Store
		for range 2 {
			st, err := store.OpenPostgres(context.Background(), url)
			if err != nil {
				b.Fatal(err)
			}
			stores = append(stores, st)
		}
		for _, r := range []string{"a", "b"} {
			if held, err := stores[0].Lease(context.Background(), store.ReceiverLease(r)); err != nil || !held {
				b.Fatal(held, err)
			}
		}
		benchmarkWebhook(b, stores...)
	})
}

// benchmarkWebhook posts to routers on stores, in turn.
func benchmarkWebhook(b *testing.B, stores ...*store.Store) {
	cfg, err := config.Load([]byte(benchConfig), "bench.yml")
	if err != nil {
		b.Fatal(err)
	}
	var handlers []http.Handler
	for _, st := range stores {
		defer st.Close()
		srv, err := New(cfg, Options{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: prometheus.NewRegistry(), Stdout: io.Discard})
		if err != nil {
			b.Fatal(err)
		}
		handlers = append(handlers, srv.Handler())
	}
	var seq atomic.Int64
	body := func() string {
		n := seq.Add(1)
		w := amtest.Webhook{Receiver: "r", GroupKey: "g", ExternalURL: "http://am"}
		for i := range 10 {
			w.Alerts = append(w.Alerts, amtest.Alert{
				Labels:      map[string]string{"alertname": "Bench", "hostgroup": fmt.Sprintf("hg-%d", n%8), "instance": fmt.Sprintf("i-%d-%d", n, i), "severity": "warning"},
				Annotations: map[string]string{"summary": "bench"}, StartsAt: benchStart, GeneratorURL: "http://prom/graph",
			})
		}
		return w.String()
	}
	b.ReportAllocs()
	b.SetParallelism(8) // 16 concurrent webhooks on 2 cores, as from several Alertmanagers
	b.ResetTimer()
	var turn atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		h := handlers[int(turn.Add(1))%len(handlers)]
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(body()))
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("%d %s", w.Code, w.Body)
			}
		}
	})
	b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "alerts/s")
}
