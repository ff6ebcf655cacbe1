package router_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/internal/loadgen"
	"github.com/alertrouter/alertrouter/internal/pgtest"
	"github.com/alertrouter/alertrouter/router"
	"github.com/alertrouter/alertrouter/store"
)

// BenchmarkWebhook measures the webhook path: decode, route, dedupe and commit of
// 10-alert webhooks whose alerts are all new, so each one is claimed for two receivers
// (loadgen.Config), on each backend: a fresh SQLite file, one that holds a million alerts
// already, and a PostgreSQL on a local socket. Run with a fixed -benchtime (20000x) to
// compare the backends on the same work.
func BenchmarkWebhook(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		st, err := store.Open(context.Background(), b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		benchmarkWebhook(b, st)
	})
	b.Run("sqlite-million", func(b *testing.B) {
		dir := b.TempDir()
		copyStore(b, millionAlertStore(b), dir)
		st, err := store.Open(context.Background(), dir)
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
	cfg, err := config.Load([]byte(loadgen.Config), "bench.yml")
	if err != nil {
		b.Fatal(err)
	}
	var handlers []http.Handler
	for _, st := range stores {
		defer st.Close()
		srv, err := router.New(cfg, router.Options{Store: st, Logger: slog.New(slog.DiscardHandler), Registerer: prometheus.NewRegistry(), Stdout: io.Discard})
		if err != nil {
			b.Fatal(err)
		}
		handlers = append(handlers, srv.Handler())
	}
	storm := loadgen.NewStorm(10, 8)
	var seq atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8) // 16 concurrent webhooks on 2 cores, as from several Alertmanagers
	b.ResetTimer()
	var turn atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		h := handlers[int(turn.Add(1))%len(handlers)]
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(string(storm.Webhook(seq.Add(1)))))
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

// millionStore is the storage directory of a store that holds a million alerts, delivered:
// ALERTROUTER_BENCH_STORE names one (made by `go run ./cmd/amload --prefill=DIR`), or it
// is made once per run of the benchmarks (a minute or two) and removed after them.
var millionStore struct {
	once sync.Once
	dir  string
	err  error
}

func millionAlertStore(b *testing.B) string {
	if dir := os.Getenv("ALERTROUTER_BENCH_STORE"); dir != "" {
		return dir
	}
	millionStore.once.Do(func() {
		if millionStore.dir, millionStore.err = os.MkdirTemp("", "alertrouter-bench-"); millionStore.err != nil {
			return
		}
		cfg, err := config.Load([]byte(loadgen.Config), "bench.yml")
		if err != nil {
			millionStore.err = err
			return
		}
		st, err := store.Open(context.Background(), millionStore.dir)
		if err != nil {
			millionStore.err = err
			return
		}
		defer st.Close()
		millionStore.err = loadgen.Prefill(context.Background(), st, cfg, 1_000_000, nil)
	})
	if millionStore.err != nil {
		b.Fatal(millionStore.err)
	}
	return millionStore.dir
}

// TestMain removes the million-alert store the benchmarks made, if they made one.
func TestMain(m *testing.M) {
	code := m.Run()
	if millionStore.dir != "" {
		os.RemoveAll(millionStore.dir)
	}
	os.Exit(code)
}

// copyStore copies the database of the storage directory from into to (a clean stop
// leaves no WAL).
func copyStore(b *testing.B, from, to string) {
	if out, err := exec.Command("cp", filepath.Join(from, store.FileName), to).CombinedOutput(); err != nil {
		b.Fatalf("copy the prefilled store: %v\n%s", err, out)
	}
}
