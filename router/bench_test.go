package router_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
		benchmarkWebhook(b, sqliteStore(b, b.TempDir()))
	})
	b.Run("sqlite-million", func(b *testing.B) {
		dir := b.TempDir()
		copyStore(b, millionAlertStore(b), dir)
		benchmarkWebhook(b, sqliteStore(b, dir))
	})
	// As a running replica alone on its database: it delivers for both receivers.
	b.Run("postgres", func(b *testing.B) {
		benchmarkWebhook(b, postgresReplicas(b, 1)...)
	})
	// Two replicas on one database, each taking half the webhooks (every alert new, so
	// nothing is a copy): one of them delivers for both receivers, so the other's
	// commits notify it.
	b.Run("postgres-two-replicas", func(b *testing.B) {
		benchmarkWebhook(b, postgresReplicas(b, 2)...)
	})
}

// BenchmarkBackends compares the backends on the same work, interleaved: each of its
// rounds posts a twentieth of the webhooks to SQLite, then to PostgreSQL, then to two
// replicas on another PostgreSQL, so that this machine's drift, which is larger than the
// differences sought, falls on the three alike (run one after the other, PostgreSQL's
// rate moved by a third between runs). It reports each one's alerts/s and the ratio of
// the other two to SQLite's. Run it with -benchtime 20000x (webhooks per backend).
func BenchmarkBackends(b *testing.B) {
	backends := []struct {
		name     string
		handlers []http.Handler
		elapsed  time.Duration
	}{
		{name: "sqlite", handlers: routers(b, sqliteStore(b, b.TempDir()))},
		{name: "postgres", handlers: routers(b, postgresReplicas(b, 1)...)},
		{name: "two-replicas", handlers: routers(b, postgresReplicas(b, 2)...)},
	}
	storm := loadgen.NewStorm(10, 8)
	var seq atomic.Int64
	const rounds = 20
	b.ResetTimer()
	for r := range rounds {
		n := b.N / rounds
		if r < b.N%rounds {
			n++
		}
		for i := range backends {
			start := time.Now()
			post(b, backends[i].handlers, storm, &seq, n)
			backends[i].elapsed += time.Since(start)
		}
	}
	rate := func(elapsed time.Duration) float64 { return float64(b.N*10) / elapsed.Seconds() }
	for _, be := range backends {
		b.ReportMetric(rate(be.elapsed), be.name+"-alerts/s")
		if be.name != "sqlite" {
			b.ReportMetric(100*rate(be.elapsed)/rate(backends[0].elapsed), be.name+"-%-of-sqlite")
		}
	}
}

// sqliteStore opens the store in dir until the benchmark ends.
func sqliteStore(b *testing.B, dir string) *store.Store {
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// postgresReplicas are n stores on one fresh PostgreSQL database, as n replicas, until
// the benchmark ends: the first holds the leases of both receivers, so that it delivers
// for them and the others' commits notify it.
func postgresReplicas(b *testing.B, n int) []*store.Store {
	url := pgtest.New(b)
	var stores []*store.Store
	for range n {
		st, err := store.OpenPostgres(context.Background(), url)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() }) // after the leases' renewal stops
		stores = append(stores, st)
	}
	holdLeases(b, stores[0])
	return stores
}

// holdLeases makes st hold the leases of both receivers, renewed as a running replica
// renews them, until the benchmark ends: its commits then wake nobody (a replica notifies
// only receivers whose lease it does not hold).
func holdLeases(b *testing.B, st *store.Store) {
	renew := func() {
		for _, r := range []string{"a", "b"} {
			if held, err := st.Lease(context.Background(), store.ReceiverLease(r)); err != nil || !held {
				b.Error("lease", r, held, err)
			}
		}
	}
	renew()
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			case <-time.After(store.LeaseRenew):
				renew()
			}
		}
	}()
	b.Cleanup(func() { close(stop); <-stopped })
}

// routers are the webhook handlers of routers on stores.
func routers(b *testing.B, stores ...*store.Store) []http.Handler {
	cfg, err := config.Load([]byte(loadgen.Config), "bench.yml")
	if err != nil {
		b.Fatal(err)
	}
	var handlers []http.Handler
	for _, st := range stores {
		srv, err := router.New(cfg, router.Options{Store: st, Logger: slog.New(slog.DiscardHandler), Registerer: prometheus.NewRegistry(), Stdout: io.Discard})
		if err != nil {
			b.Fatal(err)
		}
		handlers = append(handlers, srv.Handler())
	}
	return handlers
}

// senders is how many webhooks are posted at once: 16 on 2 cores, as from several
// Alertmanagers.
const senders = 16

// post posts n webhooks of storm, numbered from seq, senders at a time, spread over
// handlers (each sender keeps to one).
func post(b *testing.B, handlers []http.Handler, storm loadgen.Storm, seq *atomic.Int64, n int) {
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	for i := range senders {
		h := handlers[i%len(handlers)]
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				postWebhook(b, h, storm.Webhook(seq.Add(1)))
			}
		})
	}
	wg.Wait()
}

// postWebhook posts one webhook and fails the benchmark unless it is accepted.
func postWebhook(b *testing.B, h http.Handler, body []byte) {
	req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		b.Errorf("%d %s", w.Code, w.Body)
	}
}

// benchmarkWebhook posts b.N webhooks to routers on stores, as BenchmarkBackends does.
func benchmarkWebhook(b *testing.B, stores ...*store.Store) {
	handlers := routers(b, stores...)
	storm := loadgen.NewStorm(10, 8)
	var seq atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	post(b, handlers, storm, &seq, b.N)
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
