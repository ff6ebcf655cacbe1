package main

// Replicated mode as it runs: alertrouter processes on one real PostgreSQL, each taking
// the webhooks of one Alertmanager of the unclustered pair (every alert reaches both),
// while a replica is SIGKILLed, the database restarts or crashes, or a replica is cut
// off from it.

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alertrouter/alertrouter/internal/pgtest"
	"github.com/alertrouter/alertrouter/internal/testenv"
	"github.com/alertrouter/alertrouter/receivers/webhook/webhooktest"
)

const replicaCfg = `
receivers:
  - name: hook
    webhook:
      url: %s/hook
routes:
  - hostgroup_regex: 'hg-.*'
    receivers: [hook]
default_receivers: [hook]
`

// pairStorm posts webhooks of perWebhook alerts to every address at once, as the
// Alertmanager pair does to its replicas, calling during(i) before webhook i. It returns
// the alerts some replica answered 200 for, and how many answers were not 200.
func pairStorm(t *testing.T, addrs []string, webhooks, perWebhook int, during func(i int)) (accepted map[string]bool, refused int) {
	t.Helper()
	var (
		mu      sync.Mutex
		failed  atomic.Int64
		wg      sync.WaitGroup
		jobs    = make(chan int)
		alertOf = func(i, j int) (string, string) { return fmt.Sprintf("i-%d-%d", i, j), fmt.Sprintf("hg-%d", i%4) }
	)
	accepted = map[string]bool{}
	for range 8 {
		wg.Go(func() {
			for i := range jobs {
				for _, addr := range addrs {
					instances, code := postBurst(addr, "", i, perWebhook, alertOf)
					if code != http.StatusOK {
						failed.Add(1)
						continue
					}
					mu.Lock()
					for _, inst := range instances {
						accepted[inst] = true
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range webhooks {
		during(i)
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return accepted, int(failed.Load())
}

// deliveredOnce checks that every accepted alert reached the receiver, and returns the
// notifications that reached it more than once.
func deliveredOnce(t *testing.T, rec *webhooktest.Fake, accepted map[string]bool) (resent []string) {
	t.Helper()
	testenv.Eventually(t, 120*time.Second, "every accepted alert delivered", func() bool {
		seen := rec.AlertCounts("instance")
		for inst := range accepted {
			if seen["firing "+inst] == 0 {
				return false
			}
		}
		return true
	})
	perID := map[string]int{}
	for _, r := range rec.Requests() {
		perID[r.Header.Get("X-Alertrouter-Notification-Id")]++
	}
	for id, n := range perID {
		if n > 1 {
			resent = append(resent, id)
		}
	}
	return resent
}

// A storm of 4,000 alerts to both replicas, one of them SIGKILLed in the middle: every
// alert a replica answered 200 for is delivered, and only what the killed replica had in
// flight may go out twice, as the same notification: the attempt it was making, and the
// deliveries it had made but not recorded yet (a worker records what it sent within 20 ms
// in one transaction: 4 sends at 5 ms each).
func TestReplicasLoseNothingWhenOneIsKilled(t *testing.T) {
	url := pgtest.New(t)
	rec := webhooktest.New(t)
	rec.SetDelay(5 * time.Millisecond)
	cfg := fmt.Sprintf(replicaCfg, rec.URL())
	dirs, addrs := []string{t.TempDir(), t.TempDir()}, []string{testenv.FreeAddr(t), testenv.FreeAddr(t)}
	a := startRouterOn(t, dirs[0], addrs[0], cfg, "--storage.url="+url)
	startRouterOn(t, dirs[1], addrs[1], cfg, "--storage.url="+url)
	accepted, refused := pairStorm(t, addrs, 800, 5, func(i int) {
		if i == 400 {
			a.Kill()
		}
	})
	if len(accepted) != 4000 {
		t.Fatalf("%d of 4000 alerts accepted by some replica: the survivor must take them all", len(accepted))
	}
	resent := deliveredOnce(t, rec, accepted)
	t.Logf("%d answers refused (the killed replica's), %d notifications sent twice: %v", refused, len(resent), resent)
	if len(resent) > 5 {
		t.Errorf("%d notifications were sent twice, want at most the 5 in flight at the kill", len(resent))
	}
}

// PostgreSQL restarts (fast) and crashes (SIGKILL, recovery on start) mid-storm: webhooks
// get 503 while it is down, and every alert answered 200 is delivered after.
func TestReplicasRideOutPostgresRestarts(t *testing.T) {
	srv := pgtest.Start(t)
	srv.CreateDatabase(t, "alertrouter")
	url := srv.URL("alertrouter")
	rec := webhooktest.New(t)
	cfg := fmt.Sprintf(replicaCfg, rec.URL())
	addrs := []string{testenv.FreeAddr(t), testenv.FreeAddr(t)}
	for _, addr := range addrs {
		startRouterOn(t, t.TempDir(), addr, cfg, "--storage.url="+url)
	}
	accepted, refused := pairStorm(t, addrs, 600, 5, func(i int) {
		switch i {
		case 150:
			srv.Stop(t)
		case 200, 400:
			srv.Start(t)
		case 350:
			srv.Crash(t)
		}
	})
	if refused == 0 {
		t.Fatal("no webhook was refused while the database was down: the test proved nothing")
	}
	resent := deliveredOnce(t, rec, accepted)
	t.Logf("%d alerts accepted, %d answers refused while the database was down, %d notifications sent twice", len(accepted), refused, len(resent))
}

// A replica cut off from the database loses its leases and stops sending, with a batch
// of notifications in hand; another replica takes its receiver over and delivers them. Only
// the one in flight at the cut may go out twice.
func TestReplicaCutOffFromTheDatabaseIsReplaced(t *testing.T) {
	srv := pgtest.Start(t)
	srv.CreateDatabase(t, "alertrouter")
	partition := srv.NewPartition(t)
	direct, viaProxy := srv.URL("alertrouter"), partition.URL("alertrouter")
	rec := webhooktest.New(t)
	cfg := fmt.Sprintf(replicaCfg, rec.URL())
	cutAddr, okAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	startRouterOn(t, t.TempDir(), cutAddr, cfg, "--storage.url="+viaProxy)
	// The first replica delivers for the receiver: it started first and holds the lease.
	first, code := postBurst(cutAddr, "", 0, 1, func(i, j int) (string, string) { return "first", "hg-0" })
	if code != http.StatusOK {
		t.Fatalf("webhook = %d", code)
	}
	testenv.Eventually(t, 30*time.Second, "delivery by the first replica", func() bool { return rec.Alerts() == len(first) })
	startRouterOn(t, t.TempDir(), okAddr, cfg, "--storage.url="+direct)

	// Ten notifications in the first replica's hands, the first of them in flight.
	release := rec.Block()
	accepted := map[string]bool{}
	for i := range 10 {
		inst, code := postBurst(cutAddr, "", i, 1, func(i, j int) (string, string) { return fmt.Sprint("held-", i), fmt.Sprint("hg-", i) })
		if code != http.StatusOK {
			t.Fatalf("webhook = %d", code)
		}
		accepted[inst[0]] = true
	}
	time.Sleep(500 * time.Millisecond) // the worker has its batch and is sending the first
	partition.Cut()
	release()

	resent := deliveredOnce(t, rec, accepted)
	t.Logf("%d notifications sent twice after the cut: %v", len(resent), resent)
	if len(resent) > 1 {
		t.Errorf("%d notifications sent twice: the cut-off replica went on sending its batch", len(resent))
	}
	if r, err := http.Get("http://" + cutAddr + "/-/ready"); err == nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("the cut-off replica says ready (%d)", r.StatusCode)
		}
	}
}
