package store

// What only PostgreSQL has: replicas on one database. Locks that serialize their dedupe
// decisions, leases that give each receiver to one of them, wakeups across them, and a
// database that goes away and comes back.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/alertrouter/alertrouter/internal/pgtest"
	"github.com/alertrouter/alertrouter/migrations"
)

func TestPostgresRefusesNewerSchema(t *testing.T) {
	url := pgtest.New(t)
	s := openPostgresTest(t, url)
	if _, err := s.write.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (999, true)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := OpenPostgres(context.Background(), url)
	if !errors.Is(err, ErrTooNew) {
		t.Fatalf("OpenPostgres = %v, want ErrTooNew", err)
	}
}

// Two replicas that get the same alerts at the same moment decide one after the other:
// one notification per alert, however the race goes.
func TestPostgresLocksSerializeDecisionsAcrossReplicas(t *testing.T) {
	url := pgtest.New(t)
	replicas := []*Store{openReplica(t, url), openReplica(t, url)}
	const alerts, tries = 50, 4 // each replica tries each alert this many times at once
	decide := func(s *Store, fp string) error {
		return s.Update(context.Background(), func(tx *Tx) error {
			if err := tx.Lock(ReceiverLock("r", false), ClaimLock("r", fp), QueueLock("r", "hg")); err != nil {
				return err
			}
			prev, err := tx.ClaimsOf([]ClaimKey{{"r", fp}})
			if err != nil || len(prev) > 0 {
				return err // claimed already: a duplicate, suppressed
			}
			id, err := tx.Enqueue(NewNotification{Receiver: "r", Route: "x", Hostgroup: "hg", Status: "firing"}, []byte(`{}`), t0)
			if err != nil {
				return err
			}
			return putClaims(tx, Claim{Receiver: "r", Fingerprint: fp, Status: "firing", StartsAt: t0, NotifiedAt: t0, NotificationID: id})
		})
	}
	var wg sync.WaitGroup
	errs := make(chan error, alerts*tries*len(replicas))
	for i := range alerts {
		for range tries {
			for _, s := range replicas {
				wg.Go(func() { errs <- decide(s, fmt.Sprint("fp-", i)) })
			}
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	pending, err := replicas[0].List(context.Background(), Filter{State: Pending, Limit: 10 * alerts})
	if err != nil || len(pending) != alerts {
		t.Fatalf("%d notifications for %d alerts (%v), want one each", len(pending), alerts, err)
	}
}

// One replica at a time holds a receiver's lease; an outcome recorded without it is
// refused; a replica that closes gives its leases up at once, one that stalls loses them
// when they expire.
func TestPostgresLeasesFenceOutcomes(t *testing.T) {
	ctx := context.Background()
	url := pgtest.New(t)
	a := openPostgresTest(t, url) // holds the test receivers' leases
	b := openReplica(t, url)
	if held, err := b.Lease(ctx, ReceiverLease("r")); err != nil || held {
		t.Fatalf("a second replica took a held lease: %v, %v", held, err)
	}
	first, second := enqueue(t, a, "r", t0), enqueue(t, a, "r", t0)
	if err := b.MarkSent(ctx, first, "", t0); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("an outcome without the lease: %v, want ErrLeaseLost", err)
	}
	if err := a.MarkSent(ctx, first, "", t0); err != nil {
		t.Fatalf("the holder's outcome: %v", err)
	}
	// a stalls: its lease expires, and b takes the receiver.
	if _, err := a.write.Exec(`UPDATE leases SET expires_at = now() - interval '1 second' WHERE name = $1`, ReceiverLease("r")); err != nil {
		t.Fatal(err)
	}
	if held, err := b.Lease(ctx, ReceiverLease("r")); err != nil || !held {
		t.Fatalf("the expired lease was not taken: %v, %v", held, err)
	}
	if err := a.MarkRetry(ctx, second, t0.Add(time.Minute), false, Attempt{At: t0, Error: "503"}); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("the stalled replica recorded an outcome: %v", err)
	}
	if err := b.MarkSent(ctx, second, "", t0); err != nil {
		t.Fatal(err)
	}
	// b closes: a takes the receiver back at once, without waiting for the expiry.
	b.Close()
	if held, err := a.Lease(ctx, ReceiverLease("r")); err != nil || !held {
		t.Fatalf("a closed replica kept its lease: %v, %v", held, err)
	}
}

// A commit that enqueues wakes the replicas listening, with the receiver's name.
func TestPostgresWakesOtherReplicas(t *testing.T) {
	url := pgtest.New(t)
	listener, writer := openReplica(t, url), openReplica(t, url)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	woken, rescanned := make(chan string, 10), make(chan struct{}, 10)
	go listener.Listen(ctx, nil, func(r string) { woken <- r }, func() { rescanned <- struct{}{} })
	select {
	case <-rescanned: // listening: what was committed before is looked at once
	case <-time.After(30 * time.Second):
		t.Fatal("the listener did not connect")
	}
	enqueue(t, writer, "r2", t0)
	select {
	case r := <-woken:
		if r != "r2" {
			t.Fatalf("woken for %q, want r2", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no wakeup after a commit that enqueued")
	}
}

// A database that goes away: writes fail (within their deadline, so that webhooks get
// 503), Ping says so, and both work again once it is back, without a restart.
func TestPostgresOutageAndRecovery(t *testing.T) {
	srv := pgtest.Start(t)
	srv.CreateDatabase(t, "outage")
	url := srv.URL("outage")
	s := openPostgresTest(t, url)
	ctx := context.Background()
	enqueue(t, s, "r", t0)
	srv.Stop(t)
	write := func() error {
		return s.Update(ctx, func(tx *Tx) error {
			_, err := tx.Enqueue(NewNotification{Receiver: "r", Route: "x", Hostgroup: "hg", Status: "firing"}, []byte(`{}`), t0)
			return err
		})
	}
	if err := write(); err == nil {
		t.Fatal("a write succeeded with the database down")
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping succeeded with the database down")
	}
	srv.Start(t)
	deadline := time.Now().Add(30 * time.Second)
	for s.Ping(ctx) != nil || write() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("the store did not come back: ping %v, write %v", s.Ping(ctx), write())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if pending, _ := s.List(ctx, Filter{State: Pending, Limit: 10}); len(pending) != 2 {
		t.Fatalf("%d pending after the outage, want the one from before and the one after", len(pending))
	}
}

// The session settings replicated mode relies on.
func TestPostgresSessionSettings(t *testing.T) {
	s := openReplica(t, pgtest.New(t))
	for setting, want := range map[string]string{"plan_cache_mode": "force_custom_plan", "synchronous_commit": "on", "application_name": "alertrouter"} {
		var got string
		if err := s.read.QueryRow("SELECT current_setting($1)", setting).Scan(&got); err != nil || got != want {
			t.Errorf("%s = %q (%v), want %q", setting, got, err, want)
		}
	}
}

// A retry on one replica and an enqueue to the same queue on another, at the same moment:
// the queue locks keep the resolution from becoming due before the firing it follows.
func TestPostgresRetryAndEnqueueKeepTheQueueInOrder(t *testing.T) {
	ctx := context.Background()
	url := pgtest.New(t)
	a, b := openPostgresTest(t, url), openReplica(t, url)
	const queues = 200
	firings := make([]int64, queues)
	for i := range queues {
		err := a.Update(ctx, func(tx *Tx) error {
			ids, err := tx.EnqueueAll(Enqueued{Batches: [][]byte{[]byte(`{}`)}, Notifications: []NewNotification{{Receiver: "r", Route: "x", Hostgroup: fmt.Sprint("hg-", i), Status: "firing"}}}, t0)
			firings[i] = ids[0]
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	retryAt := t0.Add(time.Hour)
	var wg sync.WaitGroup
	errs := make(chan error, 2*queues)
	for i := range queues {
		wg.Go(func() { errs <- a.MarkRetry(ctx, firings[i], retryAt, false, Attempt{At: t0, Error: "503"}) })
		wg.Go(func() {
			errs <- b.Update(ctx, func(tx *Tx) error {
				_, err := tx.EnqueueAll(Enqueued{Batches: [][]byte{[]byte(`{}`)}, Notifications: []NewNotification{{Receiver: "r", Route: "x", Hostgroup: fmt.Sprint("hg-", i), Status: "resolved"}}}, t0)
				return err
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Due at any moment before the retry: no resolution may be, since its firing is not.
	due, err := a.Due(ctx, "r", retryAt.Add(-time.Second), 10*queues)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 0 {
		t.Fatalf("%d resolutions became due before their firings' retry", len(due))
	}
}

// A replica whose link to the database goes silent in the middle of a transaction: the
// server ends the session it left (idle_in_transaction_session_timeout), so its locks do
// not outlive it, and another replica takes them within seconds, not hours.
func TestPostgresPartitionMidTransactionReleasesTheLocks(t *testing.T) {
	srv := pgtest.Start(t)
	srv.CreateDatabase(t, "db")
	partition := srv.NewPartition(t)
	cutOff, other := openReplica(t, partition.URL("db")), openReplica(t, srv.URL("db"))
	keys := []LockKey{ReceiverLock("r", false), ClaimLock("r", "fp"), QueueLock("r", "hg")}
	locked := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- cutOff.Update(context.Background(), func(tx *Tx) error {
			if err := tx.Lock(keys...); err != nil {
				return err
			}
			close(locked)
			partition.Cut()
			_, err := tx.ClaimsOf([]ClaimKey{{"r", "fp"}})
			return err
		})
	}()
	<-locked
	if err := <-done; err == nil {
		t.Fatal("a transaction through a cut link committed")
	}
	deadline := time.Now().Add(time.Minute)
	for {
		err := other.Update(context.Background(), func(tx *Tx) error { return tx.Lock(keys...) })
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other replica still cannot take the locks: %v", err)
		}
	}
}

// notificationWithTwoClaims is a replica holding the leases, on a database of its own,
// with a notification to r that holds the claims of fp1 and fp2 (firing since t0).
func notificationWithTwoClaims(t *testing.T) (*Store, int64) {
	s := openPostgresTest(t, pgtest.New(t))
	claim := Claim{Status: "firing", StartsAt: t0, NotifiedAt: t0}
	fp1, fp2 := claim, claim
	fp1.Fingerprint, fp2.Fingerprint = "fp1", "fp2"
	return s, enqueue(t, s, "r", t0, fp1, fp2)
}

// MarkDead releases a notification's claims under the locks that an accept deciding on
// them takes: deleting their rows in another order than the accept's upsert could
// deadlock with it. While an accept holds one of those locks, MarkDead waits.
func TestPostgresMarkDeadReleasesClaimsUnderTheirLocks(t *testing.T) {
	ctx := context.Background()
	s, id := notificationWithTwoClaims(t)
	release := holdInTransaction(t, s, func(tx *Tx) error {
		return tx.Lock(ClaimLocks([]ClaimKey{{Receiver: "r", Fingerprint: "fp2"}})...)
	})
	done := make(chan error, 1)
	go func() { done <- s.MarkDead(ctx, id, Attempt{At: t0, Error: "gone"}) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := s.read.QueryRow(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		select {
		case err := <-done:
			release()
			t.Fatalf("MarkDead returned (%v) while an accept held the lock of a claim it releases", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("MarkDead neither waited for the claim's lock nor returned")
		}
		time.Sleep(20 * time.Millisecond)
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var left int
	if err := s.read.QueryRow(`SELECT count(*) FROM claims WHERE notification_id = $1`, id).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d claims left of the dead notification (%v)", left, err)
	}
}

// Prune leaves the claims whose rows an accept has locked for next time, rather than wait
// for them while holding the rows it deletes (a deadlock with the accept's upsert).
func TestPostgresPruneSkipsClaimsAnAcceptHolds(t *testing.T) {
	ctx := context.Background()
	s, _ := notificationWithTwoClaims(t)
	release := holdInTransaction(t, s, func(tx *Tx) error {
		_, err := tx.exec(`SELECT 1 FROM claims WHERE fingerprint = 'fp2' FOR UPDATE`)
		return err
	})
	cutoff := t0.Add(time.Hour)
	_, claims, err := s.Prune(ctx, cutoff, cutoff)
	release()
	if err != nil || claims != 1 {
		t.Fatalf("Prune = %d claims, %v; want the one no accept holds", claims, err)
	}
	if _, claims, err = s.Prune(ctx, cutoff, cutoff); err != nil || claims != 1 {
		t.Fatalf("the next Prune = %d claims, %v; want the one held before", claims, err)
	}
}

// Lock keys are FNV-1a hashes, each string followed by a zero byte: replicas of different
// versions must take the same keys.
func TestLockKeysAreFNV1a(t *testing.T) {
	for _, c := range [][3]string{{"claim", "slack-ops", "3f2a9c1d0b7e4a65"}, {"", "", ""}, {"queue", "钉钉", "gpu-farm"}} {
		h := fnv.New64a()
		for _, s := range c {
			h.Write([]byte(s))
			h.Write([]byte{0})
		}
		if got, want := lockKey(c[0], c[1], c[2]), int64(h.Sum64()); got != want {
			t.Errorf("lockKey%q = %d, want %d", c, got, want)
		}
	}
}

// A retry holds its queue back until the retry (holds.go); pruning removes the hold once
// it has passed, not before.
func TestPostgresPruneRemovesPassedHolds(t *testing.T) {
	ctx := context.Background()
	s := openPostgresTest(t, pgtest.New(t))
	id := enqueue(t, s, "r1", t0)
	if err := s.MarkRetry(ctx, id, t0.Add(time.Minute), false, Attempt{At: t0, Error: "503"}); err != nil {
		t.Fatal(err)
	}
	holds := func() (n int) {
		t.Helper()
		if err := s.write.QueryRow(`SELECT count(*) FROM queue_holds`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	cutoff := t0.Add(-time.Hour)
	for _, c := range []struct {
		now  time.Time
		want int
	}{{t0.Add(30 * time.Second), 1}, {t0.Add(2 * time.Minute), 0}} {
		if _, _, err := s.Prune(ctx, cutoff, c.now); err != nil {
			t.Fatal(err)
		}
		if got := holds(); got != c.want {
			t.Errorf("after pruning at %v: %d holds, want %d", c.now.Sub(t0), got, c.want)
		}
	}
}

// The accept's reads run on the generic plans that a connection keeps (acceptPlansQuery):
// plans made while the tables were empty must still look up only the keys asked for once
// the tables hold many rows, rather than scan them.
func TestAcceptReadsLookUpOnlyTheirKeys(t *testing.T) {
	ctx := context.Background()
	s := openPostgresTest(t, pgtest.New(t))
	conn, err := s.write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// exec runs sql in the simple protocol (PREPARE takes the statement's own parameters),
	// and returns the first column of its last statement's rows.
	exec := func(sql string) (column []string) {
		t.Helper()
		err := conn.Raw(func(driverConn any) error {
			results, err := driverConn.(*stdlib.Conn).Conn().PgConn().Exec(ctx, sql).ReadAll()
			if err != nil {
				return err
			}
			for _, row := range results[len(results)-1].Rows {
				column = append(column, string(row[0]))
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return column
	}
	exec(`PREPARE claims_of(text[], text[]) AS ` + pgClaimsOfQuery)
	exec(`PREPARE holds(text[]) AS ` + pgQueueHoldsQuery)
	// rowsSeen runs a prepared read as an accept does, and returns the most rows one step
	// of its plan went through, kept or filtered out.
	rowsSeen := func(execute string) float64 {
		t.Helper()
		exec(`BEGIN; ` + acceptPlansQuery)
		out := exec(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE ` + execute)
		exec(`COMMIT`)
		var plans []struct{ Plan planNode }
		if len(out) != 1 {
			t.Fatalf("EXPLAIN said %q", out)
		}
		if err := json.Unmarshal([]byte(out[0]), &plans); err != nil || len(plans) != 1 {
			t.Fatalf("EXPLAIN said %s (%v)", out[0], err)
		}
		return plans[0].Plan.mostRowsSeen()
	}
	const twoKeys, oneReceiver = `claims_of('{r,r}', '{fp-1,fp-2}')`, `holds('{r}')`
	rowsSeen(twoKeys) // planned on empty tables
	rowsSeen(oneReceiver)
	exec(`INSERT INTO claims SELECT 'r', 'fp-' || i, 'firing', i, i, i FROM generate_series(1, 20000) i`)
	exec(`INSERT INTO acks SELECT 'fp-' || i, i, 'me', i, '', 'test' FROM generate_series(1, 20000) i`)
	exec(`INSERT INTO queue_holds SELECT 'other-' || i, 'hg', i FROM generate_series(1, 2000) i`)
	if n := rowsSeen(twoKeys); n > 2 {
		t.Errorf("reading the claims of 2 alerts went through %.0f rows of one step", n)
	}
	if n := rowsSeen(oneReceiver); n > 1 {
		t.Errorf("reading the holds of a receiver that has none went through %.0f rows of one step", n)
	}
}

// planNode is a step of a plan as EXPLAIN (ANALYZE, FORMAT JSON) gives it.
type planNode struct {
	ActualRows   float64    `json:"Actual Rows"`
	ActualLoops  float64    `json:"Actual Loops"`
	Filtered     float64    `json:"Rows Removed by Filter"`
	JoinFiltered float64    `json:"Rows Removed by Join Filter"`
	Rechecked    float64    `json:"Rows Removed by Index Recheck"`
	Plans        []planNode `json:"Plans"`
}

// mostRowsSeen is the most rows that the step or one below it went through.
func (n planNode) mostRowsSeen() float64 {
	most := (n.ActualRows + n.Filtered + n.JoinFiltered + n.Rechecked) * n.ActualLoops
	for _, p := range n.Plans {
		most = max(most, p.mostRowsSeen())
	}
	return most
}

// Migration 12 gives the queues that wait for a retry their hold: a notification enqueued
// after the upgrade still goes behind the one that waits.
func TestMigration12HoldsTheQueuesThatWaitForARetry(t *testing.T) {
	ctx := context.Background()
	url := pgtest.New(t)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.Postgres, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 11); err != nil {
		t.Fatal(err)
	}
	// Pushed back by a retry to a minute later.
	var batch int64
	if err := db.QueryRowContext(ctx, `INSERT INTO batches (created_at, body) VALUES ($1, '{}') RETURNING id`, t0.UnixMilli()).Scan(&batch); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO notifications (receiver, route, hostgroup, status, alertnames, alert_count, batch_id, created_at, next_attempt_at, updated_at)
		VALUES ('r', 'x', 'hg', 'firing', 'A', 1, $1, $2, $3, $2)`, batch, t0.UnixMilli(), t0.Add(time.Minute).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := openPostgresTest(t, url)
	var id int64
	err = s.Update(ctx, func(tx *Tx) error {
		id, err = tx.Enqueue(NewNotification{Receiver: "r", Route: "x", Hostgroup: "hg", Status: "resolved"}, []byte(`{}`), t0.Add(time.Second))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if due, err := s.Due(ctx, "r", t0.Add(2*time.Second), 10); err != nil || len(due) != 0 {
		t.Fatalf("due before the retry: %+v, %v; want none", due, err)
	}
	due, err := s.Due(ctx, "r", t0.Add(time.Minute), 10)
	if err != nil || len(due) != 2 || due[1].ID != id {
		t.Fatalf("due at the retry: %+v, %v; want the waiting one, then %d", due, err, id)
	}
}
