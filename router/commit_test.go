package router

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"github.com/alertrouter/alertrouter/internal/pgtest"
	"github.com/alertrouter/alertrouter/store"
)

// holdCommits takes every commit slot of e's router, so that the webhooks posted next
// wait; release lets them go once n are waiting, to be committed together.
func holdCommits(t *testing.T, e *env) (release func(n int)) {
	t.Helper()
	c := e.srv.commits
	for range cap(c.slots) {
		c.slots <- struct{}{}
	}
	return func(n int) {
		waitingToCommit(t, e, n)
		for range cap(c.slots) {
			<-c.slots
		}
	}
}

// waitingToCommit waits until n webhooks wait for a commit slot (see holdCommits).
func waitingToCommit(t *testing.T, e *env, n int) {
	t.Helper()
	c := e.srv.commits
	eventually(t, fmt.Sprintf("%d webhooks waiting to commit", n), func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.waiting) == n
	})
}

// postAll posts the payloads at once and checks that each is answered 200.
func postAll(t *testing.T, e *env, payloads ...string) {
	t.Helper()
	var wg sync.WaitGroup
	for _, p := range payloads {
		wg.Go(func() {
			if r := e.post(p); r.Code != http.StatusOK {
				t.Errorf("POST /webhook = %d %s", r.Code, r.Raw)
			}
		})
	}
	wg.Wait()
}

// Both Alertmanagers of a pair send the same alert at the same moment, and their
// webhooks are committed in one transaction: one notification per receiver, and the
// copy that dedupe dropped is on its timeline, as when they commit one after the other.
func TestWebhooksCommittedTogether(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			var e *env
			if backend == "postgres" {
				st, err := store.OpenPostgres(context.Background(), pgtest.New(t))
				if err != nil {
					t.Fatal(err)
				}
				e = newEnvOn(t, logConfig, t.TempDir(), st, false)
			} else {
				e = newEnv(t, logConfig, "", false)
			}
			release := holdCommits(t, e)
			shared := alert{name: "PaymentLatencyHigh", hostgroup: "fg-ng-ec-microloan", instance: "pay-1"}
			shared2 := alert{name: "PaymentLatencyHigh", hostgroup: "fg-ng-ec-microloan", instance: "pay-2"}
			// am-a's webhook first, then two of am-b's (its resend), all in one transaction.
			var wg sync.WaitGroup
			wg.Go(func() {
				postAll(t, e, payload("am-a", shared, shared2, alert{name: "GPU_TemperatureHigh", hostgroup: "gpu-a", instance: "node-1"}))
			})
			waitingToCommit(t, e, 1)
			wg.Go(func() { postAll(t, e, payload("am-b", shared, shared2), payload("am-b", shared, shared2)) })
			release(3)
			wg.Wait()
			pending := e.list(store.Pending)
			var pay []store.Notification
			for _, n := range pending {
				if n.Receiver == "pay" {
					pay = append(pay, n)
				}
			}
			if len(pending) != 2 || len(pay) != 1 {
				t.Fatalf("want one notification to pay and one to gpu, got %+v", pending)
			}
			sup, err := e.store.Suppressions(context.Background(), pay[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(sup) != 1 || sup[0].Source != "http://am-b:9093" || sup[0].Reason != suppressDuplicate || sup[0].Copies != 2 || sup[0].Alerts != 4 {
				t.Fatalf("want the other Alertmanager's two copies of two alerts on the timeline, got %+v", sup)
			}
			if got := e.counter("alertrouter_alerts_suppressed_total", "receiver", "pay", "reason", suppressDuplicate); got != 4 {
				t.Errorf("suppressed alerts counted %v, want 4", got)
			}
		})
	}
}

// Webhooks committed together take the locks of their alerts together: beyond
// store.MaxClaimLocks alerts for one receiver in one transaction, the receiver's own lock
// rather than one per alert (each webhook alone stays under it). Every alert is enqueued
// once for each receiver.
func TestWebhooksCommittedTogetherTakeFewLocks(t *testing.T) {
	st, err := store.OpenPostgres(context.Background(), pgtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, twoLogReceivers, t.TempDir(), st, false)
	release := holdCommits(t, e)
	const webhooks, perWebhook = 26, 190
	var payloads []string
	for i := range webhooks {
		var alerts []alert
		for j := range perWebhook {
			alerts = append(alerts, alert{name: "VPNProbeFailed", hostgroup: "vpn", instance: fmt.Sprintf("probe-%d-%d", i, j)})
		}
		payloads = append(payloads, payload("am-a", alerts...))
	}
	go release(webhooks)
	postAll(t, e, payloads...)
	var alerts int
	for _, n := range e.list(store.Pending) {
		alerts += n.AlertCount
	}
	if want := 2 * webhooks * perWebhook; alerts != want {
		t.Fatalf("%d alerts pending, want %d", alerts, want)
	}
}

// A part that the database refuses fails alone: the webhooks committed with it commit.
// (Intake keeps NUL out of what the rows hold, so the part is made here, as accept makes
// its parts, from a group whose host group holds one: PostgreSQL's text cannot.)
func TestPartTheDatabaseRefusesFailsAlone(t *testing.T) {
	st, err := store.OpenPostgres(context.Background(), pgtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, logConfig, t.TempDir(), st, false)
	rt := e.srv.runtime.Load()
	partOf := func(hostgroup, instance string) *part {
		a := alert{name: "GPU_TemperatureHigh", hostgroup: hostgroup, instance: instance}.amtest()
		ta := template.Alert{Status: "firing", Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.StartsAt, Fingerprint: instance}
		g := &group{receiver: "gpu", route: "0", hostgroup: hostgroup, status: "firing", alerts: []*template.Alert{&ta}}
		p, err := newPart(context.Background(), rt, []*group{g}, e.clock.Now(), "http://am-a:9093")
		if err != nil {
			t.Fatal(err)
		}
		p.done = make(chan error, 1)
		return p
	}
	good, bad, alsoGood := partOf("gpu-a", "node-1"), partOf("gpu-\x00", "node-2"), partOf("gpu-b", "node-3")
	e.srv.commits.run([]*part{good, bad, alsoGood})
	if err := <-bad.done; err == nil {
		t.Fatalf("PostgreSQL took a NUL in a host group: the test no longer has a part it refuses: %+v", e.list(store.Pending))
	}
	for _, p := range []*part{good, alsoGood} {
		if err := <-p.done; err != nil {
			t.Fatalf("a part committed with one the database refused failed too: %v", err)
		}
	}
	if n := len(e.list(store.Pending)); n != 2 {
		t.Fatalf("%d notifications pending, want the two good parts'", n)
	}
}

// A label value may hold NUL, which PostgreSQL's text cannot: intake replaces it, so the
// alert is accepted on both backends (it was refused at every retry on PostgreSQL), with
// the fingerprint computed from the labels as Alertmanager computes it.
func TestNULInLabelsIsAccepted(t *testing.T) {
	st, err := store.OpenPostgres(context.Background(), pgtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, logConfig, t.TempDir(), st, false)
	e.mustPost(payload("am-a\x00", alert{name: "GPU_\x00TemperatureHigh", hostgroup: "gpu-\x00a", instance: "node-1"}))
	ns := e.list(store.Pending)
	if len(ns) != 1 || ns[0].Hostgroup != "gpu-\uFFFDa" || ns[0].AlertNames[0] != "GPU_\uFFFDTemperatureHigh" {
		t.Fatalf("want one notification to gpu-\uFFFDa, got %+v", ns)
	}
	p, err := DecodePayload(strings.NewReader(payload("am-a", alert{name: "A\x00", instance: "i"})))
	if err != nil {
		t.Fatal(err)
	}
	want := model.LabelSet{"alertname": "A\x00", "instance": "i", "severity": "critical"}.Fingerprint().String()
	if a := p.Data.Alerts[0]; a.Fingerprint != want || a.Labels["alertname"] != "A\uFFFD" {
		t.Fatalf("fingerprint %s, labels %v; want the fingerprint of the labels as sent, %s", a.Fingerprint, a.Labels, want)
	}
}
