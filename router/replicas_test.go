package router

// Replicated mode through the whole server: routers on one PostgreSQL, each taking the
// same webhooks, as behind an Alertmanager pair that sends everything to every replica.

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alertrouter/alertrouter/internal/pgtest"
	"github.com/alertrouter/alertrouter/internal/testenv"
	"github.com/alertrouter/alertrouter/receivers/webhook/webhooktest"
	"github.com/alertrouter/alertrouter/store"
)

const replicaConfig = `
receivers:
  - name: hook
    webhook:
      url: %s
routes:
  - hostgroup_regex: '.+'
    receivers: [hook]
default_receivers: [hook]
`

func newReplica(t *testing.T, url, cfg string) *env {
	t.Helper()
	st, err := store.OpenPostgres(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	return newEnvOn(t, cfg, t.TempDir(), st, true)
}

// Both replicas get every webhook at the same moment: each alert reaches the receiver
// once, delivered by whichever replica holds its lease.
func TestReplicasDeliverEachAlertOnce(t *testing.T) {
	url := pgtest.New(t)
	hook := webhooktest.New(t)
	cfg := fmt.Sprintf(replicaConfig, hook.URL())
	replicas := []*env{newReplica(t, url, cfg), newReplica(t, url, cfg)}
	const webhooks, perWebhook = 40, 5
	var wg sync.WaitGroup
	for i := range webhooks {
		var alerts []alert
		for j := range perWebhook {
			alerts = append(alerts, alert{name: "GPU_TemperatureHigh", hostgroup: fmt.Sprintf("gpu-%d", i%4), instance: fmt.Sprintf("node-%d-%d", i, j)})
		}
		body := payload(fmt.Sprintf("am%d", i%2), alerts...)
		for _, r := range replicas {
			wg.Go(func() {
				if res := r.post(body); res.Code != http.StatusOK {
					t.Errorf("webhook answered %d: %s", res.Code, res.Raw)
				}
			})
		}
	}
	wg.Wait()
	eventually(t, "every alert delivered", func() bool { return hook.Alerts() >= webhooks*perWebhook })
	time.Sleep(time.Second) // a duplicate would arrive by now
	for instance, n := range hook.AlertCounts("instance") {
		if n != 1 {
			t.Errorf("%s delivered %d times, want once", instance, n)
		}
	}
	if got := len(hook.AlertCounts("instance")); got != webhooks*perWebhook {
		t.Errorf("%d distinct alerts delivered, want %d", got, webhooks*perWebhook)
	}
	sent := replicas[0].list(store.Sent)
	if len(sent) != webhooks {
		t.Errorf("%d notifications sent, want %d (one per webhook: the copies were suppressed)", len(sent), webhooks)
	}
}

// While the database is away, webhooks get 503 (Alertmanager retries) and the replica is
// not ready; both come back by themselves.
func TestReplicaAnswers503WhileTheDatabaseIsDown(t *testing.T) {
	srv := pgtest.Start(t)
	srv.CreateDatabase(t, "alertrouter")
	hook := webhooktest.New(t)
	e := newReplica(t, srv.URL("alertrouter"), fmt.Sprintf(replicaConfig, hook.URL()))
	e.mustPost(payload("am1", alert{name: "A", hostgroup: "gpu-1", instance: "i1"}))
	srv.Stop(t)
	if r := e.post(payload("am1", alert{name: "B", hostgroup: "gpu-1", instance: "i2"})); r.Code != http.StatusServiceUnavailable {
		t.Fatalf("webhook with the database down = %d %s, want 503", r.Code, r.Raw)
	}
	if r := e.do(http.MethodGet, "/-/ready", "", nil, nil); r.Code != http.StatusServiceUnavailable {
		t.Fatalf("/-/ready with the database down = %d", r.Code)
	}
	srv.Start(t)
	eventually(t, "the webhook accepted again", func() bool {
		return e.post(payload("am1", alert{name: "B", hostgroup: "gpu-1", instance: "i2"})).Code == http.StatusOK
	})
	e.settle(5*time.Second, "both alerts delivered", func() bool { return hook.Alerts() == 2 })
	if r := e.do(http.MethodGet, "/-/ready", "", nil, nil); r.Code != http.StatusOK {
		t.Fatalf("/-/ready after the outage = %d", r.Code)
	}
}

// Replicas with different configs decide differently: the one that notices says so, in
// its log and its metrics.
func TestReplicasNoticeDifferentConfigs(t *testing.T) {
	url := pgtest.New(t)
	hook := webhooktest.New(t)
	a := newReplica(t, url, fmt.Sprintf(replicaConfig, hook.URL()))
	eventually(t, "the first replica's report", func() bool { return a.counter("alertrouter_replica_configs") == 1 })
	// Another route (a different URL would not count: it is a secret, hashed as <secret>).
	b := newReplica(t, url, strings.Replace(fmt.Sprintf(replicaConfig, hook.URL()), "'.+'", "'gpu-.+'", 1))
	eventually(t, "the difference noticed", func() bool {
		return b.counter("alertrouter_replica_configs") == 2 && strings.Contains(b.logs.String(), "Replicas run different configs")
	})
	same := newReplica(t, url, fmt.Sprintf(replicaConfig, hook.URL()))
	eventually(t, "the third replica's report", func() bool { return same.counter("alertrouter_replica_configs") == 2 })
	if strings.Contains(a.logs.String(), "different configs") && a.counter("alertrouter_replica_configs") != 2 {
		t.Errorf("the first replica logged a difference but its metric says %v", a.counter("alertrouter_replica_configs"))
	}
}

// One replica at a time runs the once-per-cluster jobs; when it stops, another takes over.
func TestOneReplicaLeads(t *testing.T) {
	url := pgtest.New(t)
	hook := webhooktest.New(t)
	cfg := fmt.Sprintf(replicaConfig, hook.URL())
	a, b := newReplica(t, url, cfg), newReplica(t, url, cfg)
	leaders := func() (n int, who *env) {
		for _, r := range []*env{a, b} {
			if r.srv.dispatcher.Leader() {
				n, who = n+1, r
			}
		}
		return n, who
	}
	eventually(t, "a leader", func() bool { n, _ := leaders(); return n == 1 })
	_, leader := leaders()
	follower := a
	if leader == a {
		follower = b
	}
	time.Sleep(store.LeaseRenew + time.Second) // renewals keep one leader
	if n, _ := leaders(); n != 1 {
		t.Fatalf("%d leaders after a renewal, want 1", n)
	}
	leader.Close() // gives its leases up
	eventually(t, "the other replica leads", func() bool { return follower.srv.dispatcher.Leader() })
}

// Mass outages come as huge webhooks: each alert's own lock would overflow PostgreSQL's
// lock table (shared by the server, 64 per connection by default); past
// store.MaxClaimLocks a transaction locks the whole receiver instead.
func TestHugeWebhooksDoNotExhaustTheLockTable(t *testing.T) {
	testenv.SkipShort(t)
	url := pgtest.New(t)
	e := newReplica(t, url, twoLogReceivers)
	var wg sync.WaitGroup
	for w := range 4 {
		var alerts []alert
		for i := range 5000 {
			alerts = append(alerts, alert{name: "NodeDown", hostgroup: fmt.Sprintf("hg-%d", i%3), instance: fmt.Sprintf("w%d-node-%d", w, i)})
		}
		body := payload("am1", alerts...)
		wg.Go(func() {
			if r := e.post(body); r.Code != http.StatusOK {
				t.Errorf("a 5,000-alert webhook answered %d: %.300s", r.Code, r.Raw)
			}
		})
	}
	wg.Wait()
	if n := e.counter("alertrouter_alerts_received_total"); n != 4*5000 {
		t.Errorf("%v alerts received, want 20,000", n)
	}
	if n := len(e.list("")); n < 4*3*2 {
		t.Errorf("%d notifications, want at least 24 (4 webhooks x 3 host groups x 2 receivers)", n)
	}
}

// A batch that takes longer than the lease to deliver (a slow destination, a backlog)
// keeps the lease: nothing is sent twice, even with one replica.
func TestALongBatchKeepsItsLease(t *testing.T) {
	testenv.SkipShort(t)
	url := pgtest.New(t)
	hook := webhooktest.New(t)
	hook.SetDelay(500 * time.Millisecond)
	st, err := store.OpenPostgres(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, fmt.Sprintf(replicaConfig, hook.URL()), t.TempDir(), st, false)
	for i := range 60 {
		e.mustPost(payload("am1", alert{name: "A", hostgroup: fmt.Sprintf("gpu-%d", i), instance: fmt.Sprint("i", i)}))
	}
	e.Close()
	st, err = store.OpenPostgres(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	newEnvOn(t, fmt.Sprintf(replicaConfig, hook.URL()), t.TempDir(), st, true)
	testenv.Eventually(t, 2*time.Minute, "60 deliveries", func() bool { return hook.Alerts() >= 60 })
	time.Sleep(2 * time.Second)
	for instance, n := range hook.AlertCounts("instance") {
		if n != 1 {
			t.Errorf("%s delivered %d times, want once", instance, n)
		}
	}
}
