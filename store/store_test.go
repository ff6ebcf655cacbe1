package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var t0 = time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)

func enqueue(t *testing.T, s *Store, receiver string, now time.Time, claims ...Claim) int64 {
	t.Helper()
	var id int64
	err := s.Update(context.Background(), func(tx *Tx) error {
		var err error
		id, err = tx.Enqueue(NewNotification{
			Receiver: receiver, Route: "routes[0]", Hostgroup: "hg", Status: "firing",
			AlertNames: []string{"A", "B"}, AlertCount: 2,
		}, []byte(`{}`), now)
		if err != nil {
			return err
		}
		for _, c := range claims {
			c.Receiver, c.NotificationID = receiver, id
			if err := putClaims(tx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	return id
}

// holdInTransaction runs hold in a transaction of s and keeps that transaction open, with
// what hold took, until release is called.
func holdInTransaction(t *testing.T, s *Store, hold func(tx *Tx) error) (release func()) {
	t.Helper()
	held, done := make(chan error, 1), make(chan struct{})
	finished := make(chan error, 1)
	go func() {
		finished <- s.Update(context.Background(), func(tx *Tx) error {
			err := hold(tx)
			held <- err
			if err != nil {
				return err
			}
			<-done
			return nil
		})
	}()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	return func() {
		close(done)
		if err := <-finished; err != nil {
			t.Errorf("the holding transaction: %v", err)
		}
	}
}

// putClaims writes claims that no notification of the transaction holds: they keep their
// NotificationID.
func putClaims(tx *Tx, claims ...Claim) error {
	e := Enqueued{}
	for _, c := range claims {
		e.Claims = append(e.Claims, NewClaim{Claim: c, HeldBy: NotHeld})
	}
	_, err := tx.EnqueueAll(e, t0)
	return err
}

func claimsOf(t *testing.T, s *Store, receiver string, fps ...string) map[string]Claim {
	t.Helper()
	keys := make([]ClaimKey, len(fps))
	for i, fp := range fps {
		keys[i] = ClaimKey{receiver, fp}
	}
	var claims map[ClaimKey]Claim
	err := s.Update(context.Background(), func(tx *Tx) error {
		var err error
		claims, err = tx.ClaimsOf(keys)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Claim{}
	for k, c := range claims {
		out[k.Fingerprint] = c
	}
	return out
}

func TestOpenUsesWALAndMigrates(t *testing.T) {
	s := openTest(t, t.TempDir())
	var mode string
	if err := s.write.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	cur, latest, err := s.SchemaVersion(context.Background())
	if err != nil || cur != latest || cur < 1 {
		t.Fatalf("SchemaVersion = %d, %d, %v; want equal and >= 1", cur, latest, err)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	// A later alertrouter would have recorded a migration this binary does not know.
	if _, err := s.write.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (999, 1)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(context.Background(), dir)
	if !errors.Is(err, ErrTooNew) {
		t.Fatalf("Open = %v, want ErrTooNew", err)
	}
}

func TestOutboxLifecycleSurvivesReopen(t *testing.T) {
	forEachBackend(t, testOutboxLifecycleSurvivesReopen)
}

func testOutboxLifecycleSurvivesReopen(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	a := enqueue(t, s, "r1", t0)
	b := enqueue(t, s, "r1", t0.Add(time.Second))
	enqueue(t, s, "r2", t0)

	due, err := s.Due(ctx, "r1", t0.Add(time.Second), 10)
	if err != nil || len(due) != 2 || due[0].ID != a || due[1].ID != b {
		t.Fatalf("Due = %+v, %v; want [%d %d]", due, err, a, b)
	}
	if got := due[0].AlertNames; len(got) != 2 || got[0] != "A" {
		t.Fatalf("AlertNames = %v", got)
	}
	if err := s.MarkRetry(ctx, a, t0.Add(time.Minute), false, Attempt{At: t0, Error: "boom"}); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSent(ctx, b, "", t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = open(t)
	due, err = s.Due(ctx, "r1", t0.Add(30*time.Second), 10)
	if err != nil || len(due) != 0 {
		t.Fatalf("Due before retry time = %+v, %v; want none", due, err)
	}
	next, ok, err := s.NextDue(ctx, "r1")
	if err != nil || !ok || !next.Equal(t0.Add(time.Minute)) {
		t.Fatalf("NextDue = %v, %v, %v", next, ok, err)
	}
	due, _ = s.Due(ctx, "r1", t0.Add(time.Minute), 10)
	if len(due) != 1 || due[0].Attempts != 1 || due[0].LastError != "boom" {
		t.Fatalf("Due after retry time = %+v", due)
	}
	depth, err := s.PendingByReceiver(ctx)
	if err != nil || depth["r1"] != 1 || depth["r2"] != 1 {
		t.Fatalf("PendingByReceiver = %v, %v", depth, err)
	}
	sent, err := s.List(ctx, Filter{State: Sent, Limit: 10})
	if err != nil || len(sent) != 1 || sent[0].ID != b || sent[0].SentAt.IsZero() || sent[0].Attempts != 1 {
		t.Fatalf("List(sent) = %+v, %v", sent, err)
	}
	all, _ := s.List(ctx, Filter{Limit: 2})
	if len(all) != 2 || all[0].ID < all[1].ID {
		t.Fatalf("List(all, 2) = %+v, want newest first", all)
	}
}

func TestThrottledRetryDoesNotCountAsAttempt(t *testing.T) {
	forEachBackend(t, testThrottledRetryDoesNotCountAsAttempt)
}

func testThrottledRetryDoesNotCountAsAttempt(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	id := enqueue(t, s, "r", t0)
	if err := s.MarkRetry(ctx, id, t0.Add(time.Second), true, Attempt{At: t0, Error: "429"}); err != nil {
		t.Fatal(err)
	}
	due, _ := s.Due(ctx, "r", t0.Add(time.Second), 1)
	if len(due) != 1 || due[0].Attempts != 0 {
		t.Fatalf("attempts after throttle = %+v", due)
	}
}

func TestMarkDeadReleasesOnlyItsOwnClaims(t *testing.T) {
	forEachBackend(t, testMarkDeadReleasesOnlyItsOwnClaims)
}

func testMarkDeadReleasesOnlyItsOwnClaims(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	first := enqueue(t, s, "r", t0, Claim{Fingerprint: "f1", Status: "firing", StartsAt: t0, NotifiedAt: t0},
		Claim{Fingerprint: "f2", Status: "firing", StartsAt: t0, NotifiedAt: t0})
	// f2 is claimed again by a later notification: the first one's death must not release it.
	enqueue(t, s, "r", t0.Add(time.Hour), Claim{Fingerprint: "f2", Status: "resolved", StartsAt: t0, NotifiedAt: t0.Add(time.Hour)})

	if err := s.MarkDead(ctx, first, Attempt{At: t0.Add(time.Minute), Error: "permanent"}); err != nil {
		t.Fatal(err)
	}
	// Marking it dead again (say, a second worker after a reload) must not release anything.
	third := enqueue(t, s, "r", t0.Add(2*time.Hour), Claim{Fingerprint: "f3", Status: "firing", StartsAt: t0, NotifiedAt: t0})
	if err := s.MarkSent(ctx, third, "", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkDead(ctx, third, Attempt{At: t0.Add(2 * time.Hour), Error: "late"}); err != nil {
		t.Fatal(err)
	}
	if c := claimsOf(t, s, "r", "f3"); len(c) != 1 {
		t.Errorf("a sent notification's claim was released by a late MarkDead")
	}
	got := claimsOf(t, s, "r", "f1", "f2")
	if _, ok := got["f1"]; ok {
		t.Errorf("claim f1 survived its notification's death")
	}
	if c, ok := got["f2"]; !ok || c.Status != "resolved" {
		t.Errorf("claim f2 = %+v, %v; want the later resolved claim", c, ok)
	}
	dead, _ := s.List(ctx, Filter{State: Dead, Limit: 10})
	if len(dead) != 1 || dead[0].ID != first || dead[0].LastError != "permanent" {
		t.Fatalf("dead = %+v", dead)
	}
}

func TestExpireAndPrune(t *testing.T) { forEachBackend(t, testExpireAndPrune) }

func testExpireAndPrune(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	old := enqueue(t, s, "gone", t0, Claim{Fingerprint: "f", Status: "firing", StartsAt: t0, NotifiedAt: t0})
	fresh := enqueue(t, s, "gone", t0.Add(2*time.Hour))
	if err := s.MarkRetry(ctx, old, t0.Add(time.Hour), false, Attempt{At: t0, Error: "connection refused"}); err != nil {
		t.Fatal(err)
	}
	enqueue(t, s, "kept", t0) // a configured receiver's row is left to its worker
	exp, err := s.Expire(ctx, []string{"kept"}, t0.Add(time.Hour), "gave up after max_retry_age", t0.Add(time.Hour))
	if err != nil || len(exp) != 1 || exp[0].ID != old || exp[0].Receiver != "gone" {
		t.Fatalf("Expire = %+v, %v", exp, err)
	}
	dead, _ := s.List(ctx, Filter{State: Dead, Limit: 10})
	if len(dead) != 1 || dead[0].LastError != "gave up after max_retry_age: connection refused" {
		t.Fatalf("dead = %+v", dead)
	}
	if c := claimsOf(t, s, "gone", "f"); len(c) != 0 {
		t.Fatalf("expired notification kept its claim: %+v", c)
	}

	n, c, err := s.Prune(ctx, t0.Add(3*time.Hour), t0.Add(3*time.Hour))
	if err != nil || n != 1 || c != 0 {
		t.Fatalf("Prune = %d, %d, %v; want the dead row only", n, c, err)
	}
	pending, _ := s.List(ctx, Filter{State: Pending, Limit: 10})
	if len(pending) != 2 || pending[0].Receiver != "kept" || pending[1].ID != fresh {
		t.Fatalf("pending after prune = %+v; pending rows must never be pruned", pending)
	}
}

// A batch goes with the last notification that points at it, and not before: the other
// receiver's notification of the same webhook still reads its alerts.
func TestPruneDeletesBatchesWithTheirLastNotification(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		var ids []int64
		err := s.Update(ctx, func(tx *Tx) error {
			n := NewNotification{Route: "routes[0]", Hostgroup: "hg", Status: "firing", AlertNames: []string{"A"}, AlertCount: 1}
			shared, alone := n, n
			shared.Receiver, alone.Receiver, alone.Batch = "r1", "r1", 1
			other := shared
			other.Receiver = "r2"
			var err error
			ids, err = tx.EnqueueAll(Enqueued{Batches: [][]byte{[]byte(`shared`), []byte(`alone`)}, Notifications: []NewNotification{shared, other, alone}}, t0)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, at := range []time.Time{t0, t0.Add(2 * time.Hour), t0} { // r2's is sent later
			if err := s.MarkSent(ctx, ids[i], "", at); err != nil {
				t.Fatal(err)
			}
		}
		batches := func() (n int) {
			t.Helper()
			if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM batches`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n, _, err := s.Prune(ctx, t0.Add(time.Hour), t0.Add(time.Hour)); err != nil || n != 2 {
			t.Fatalf("Prune = %d, %v; want r1's two notifications", n, err)
		}
		if b := batches(); b != 1 {
			t.Fatalf("%d batches after the first prune; want the shared one", b)
		}
		kept, ok, err := s.Notification(ctx, ids[1])
		if err != nil || !ok || string(kept.Batch) != "shared" {
			t.Fatalf("r2's notification after the prune: %+v, %v, %v", kept, ok, err)
		}
		if n, _, err := s.Prune(ctx, t0.Add(3*time.Hour), t0.Add(3*time.Hour)); err != nil || n != 1 {
			t.Fatalf("second Prune = %d, %v", n, err)
		}
		if b := batches(); b != 0 {
			t.Fatalf("%d batches left after their notifications were pruned", b)
		}
	})
}

// Prune deletes a large history in rounds, each moving past the rows the last one kept,
// however many: pending notifications (never pruned), and finished ones touched after
// the cutoff.
func TestPruneDeletesInRoundsPastWhatItKeeps(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		const perMs, millis = 250, 30 // each millisecond: 100 kept pending, 150 sent
		var sent []Delivery
		for ms := range millis {
			at := t0.Add(time.Duration(ms) * time.Millisecond)
			e := Enqueued{Batches: [][]byte{[]byte(`{}`)}}
			for i := range perMs {
				e.Notifications = append(e.Notifications, NewNotification{Receiver: "r", Route: "x", Hostgroup: fmt.Sprint("hg-", i), Status: "firing"})
				e.Claims = append(e.Claims, NewClaim{Claim: Claim{Receiver: "r", Fingerprint: fmt.Sprint(ms, "-", i), Status: "firing", StartsAt: t0, NotifiedAt: at}, HeldBy: i})
			}
			err := s.Update(ctx, func(tx *Tx) error {
				ids, err := tx.EnqueueAll(e, at)
				if err != nil {
					return err
				}
				for _, id := range ids[100:] {
					sent = append(sent, Delivery{ID: id})
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := s.MarkSentAll(ctx, sent, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		// The first round ends past the 1,001st notification, with the rest of its
		// millisecond.
		err := s.Update(ctx, func(tx *Tx) error {
			bound, last, err := tx.roundBound("notifications", "created_at", notificationsPerRound, math.MinInt64, t0.Add(time.Hour).UnixMilli())
			if want := t0.UnixMilli() + notificationsPerRound/perMs + 1; err != nil || last || bound != want {
				t.Errorf("first round: bound %d, last %v, %v; want %d", bound, last, err, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		n, c, err := s.Prune(ctx, t0.Add(time.Hour), t0.Add(time.Hour))
		if err != nil || n != millis*150 || c != millis*perMs {
			t.Fatalf("Prune = %d notifications, %d claims, %v; want %d, %d", n, c, err, millis*150, millis*perMs)
		}
		counts, err := s.PendingByReceiver(ctx)
		if err != nil || counts["r"] != millis*100 {
			t.Fatalf("pending after the prune: %v, %v; want %d", counts, err, millis*100)
		}
	})
}

// The janitor's statements run in the writer, ahead of the webhooks waiting for it,
// once a minute: each must go through an index that keeps it small, whatever the size of
// the history. SQLite plans without statistics, and guessed wrong here before.
func TestJanitorStatementsUseTheirIndexes(t *testing.T) {
	s := openTest(t, t.TempDir())
	for _, c := range []struct {
		name, query string
		args        []any
		want        string // a step of the plan
	}{
		// Where each round of pruning ends: counted in the index.
		{"prune round of notifications", roundBoundQuery("notifications", "created_at"), []any{int64(0), int64(1), 10}, "SEARCH notifications USING COVERING INDEX notifications_created"},
		{"prune round of claims", roundBoundQuery("claims", "notified_at"), []any{int64(0), int64(1), 10}, "SEARCH claims USING COVERING INDEX claims_notified"},
		// The batches of the notifications pruned, rather than every batch.
		{"prune batches", pruneBatchesQuery, []any{int64(0), int64(0)}, "SEARCH batches USING INTEGER PRIMARY KEY"},
		// The pending notifications, rather than every one made before the cutoff.
		{"expire", expireQuery, []any{int64(0), `["r"]`}, "SCAN notifications USING INDEX notifications_due"},
	} {
		rows, err := s.read.QueryContext(context.Background(), `EXPLAIN QUERY PLAN `+c.query, c.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(plan, func(step string) bool { return strings.HasPrefix(step, c.want) }) {
			t.Errorf("%s: plan %q, want a step %q", c.name, plan, c.want)
		}
		for _, step := range plan {
			if table, _, _ := strings.Cut(strings.TrimPrefix(step, "SCAN "), " "); step == "SCAN "+table && table != "json_each" {
				t.Errorf("%s: plan %q reads all of %s", c.name, plan, table)
			}
		}
	}
}

func TestClaimsChunkedLookup(t *testing.T) { forEachBackend(t, testClaimsChunkedLookup) }

func testClaimsChunkedLookup(t *testing.T, open opener) {
	s := open(t)
	var claims []Claim
	var fps []string
	for i := range 1200 {
		fp := filepath.Join("fp", string(rune('a'+i%26)), time.Duration(i).String())
		fps = append(fps, fp)
		claims = append(claims, Claim{Fingerprint: fp, Status: "firing", StartsAt: t0, NotifiedAt: t0})
	}
	enqueue(t, s, "r", t0, claims...)
	if got := claimsOf(t, s, "r", fps...); len(got) != len(fps) {
		t.Fatalf("Claims found %d of %d", len(got), len(fps))
	}
	if got := claimsOf(t, s, "other", fps...); len(got) != 0 {
		t.Fatalf("claims leaked across receivers: %d", len(got))
	}
}

func TestParseState(t *testing.T) {
	for _, s := range []string{"pending", "sent", "dead"} {
		if _, err := ParseState(s); err != nil {
			t.Errorf("ParseState(%q): %v", s, err)
		}
	}
	if _, err := ParseState("done"); err == nil {
		t.Error("ParseState(done) accepted")
	}
}

// Concurrent writes share transactions; a failing one is undone alone.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	forEachBackend(t, testGroupCommitIsolatesFailures)
}

func testGroupCommitIsolatesFailures(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	const n = 200
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- s.Update(ctx, func(tx *Tx) error {
				id, err := tx.Enqueue(NewNotification{Receiver: "r", Route: "x", Hostgroup: "h", Status: "firing"}, []byte(`{}`), t0)
				if err != nil {
					return err
				}
				if err := putClaims(tx, Claim{Receiver: "r", Fingerprint: fmt.Sprint(i), Status: "firing", StartsAt: t0, NotifiedAt: t0, NotificationID: id}); err != nil {
					return err
				}
				if i%10 == 0 {
					return errors.New("op failed after writing")
				}
				return nil
			})
		}()
	}
	failed := 0
	for range n {
		if err := <-errs; err != nil {
			if err.Error() != "op failed after writing" {
				t.Fatalf("unexpected error: %v", err)
			}
			failed++
		}
	}
	if failed != n/10 {
		t.Fatalf("%d failures, want %d", failed, n/10)
	}
	pending, _ := s.List(ctx, Filter{State: Pending, Limit: 1000})
	if len(pending) != n-n/10 {
		t.Fatalf("%d notifications committed, want %d: failed operations must leave nothing", len(pending), n-n/10)
	}
	fps := make([]string, n)
	for i := range fps {
		fps[i] = fmt.Sprint(i)
	}
	claims := claimsOf(t, s, "r", fps...)
	for i := range n {
		if _, ok := claims[fmt.Sprint(i)]; ok == (i%10 == 0) {
			t.Fatalf("claim %d present = %v", i, ok)
		}
	}
}

func TestUpdateAfterCloseFails(t *testing.T) { forEachBackend(t, testUpdateAfterCloseFails) }

func testUpdateAfterCloseFails(t *testing.T, open opener) {
	s := open(t)
	s.Close()
	err := s.Update(context.Background(), func(*Tx) error { return nil })
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("Update after Close = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

// When SQLite rolls back the whole transaction under a batch (disk full, I/O error), no
// op may report success, and none may commit on its own afterwards.
func TestGroupCommitAbortsWhenTheTransactionIsGone(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	// RAISE(ROLLBACK) undoes the whole transaction, as SQLITE_FULL does.
	if err := s.Update(ctx, func(tx *Tx) error {
		_, err := tx.tx.ExecContext(tx.ctx, `CREATE TRIGGER boom BEFORE INSERT ON notifications
		WHEN NEW.receiver = 'boom' BEGIN SELECT RAISE(ROLLBACK, 'simulated disk full'); END`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	enqueueOp := func(receiver string) func(*Tx) error {
		return func(tx *Tx) error {
			_, err := tx.Enqueue(NewNotification{Receiver: receiver, Route: "x", Hostgroup: "h", Status: "firing"}, []byte(`{}`), t0)
			return err
		}
	}
	// Hold the writer so that the next three ops queue up and share one batch.
	release := holdInTransaction(t, s, func(*Tx) error { return nil })
	results := map[string]chan error{}
	for _, r := range []string{"a", "boom", "c"} {
		ch := make(chan error, 1)
		results[r] = ch
		go func() { ch <- s.Update(ctx, enqueueOp(r)) }()
		time.Sleep(20 * time.Millisecond) // queue in this order
	}
	release()
	errs := map[string]error{}
	for r, ch := range results {
		errs[r] = <-ch
	}
	rows, _ := s.List(ctx, Filter{Limit: 10})
	committed := map[string]bool{}
	for _, n := range rows {
		committed[n.Receiver] = true
	}
	for _, r := range []string{"a", "boom", "c"} {
		if (errs[r] == nil) != committed[r] {
			t.Errorf("op %s: error %v, committed %v", r, errs[r], committed[r])
		}
	}
	if errs["boom"] == nil {
		t.Error("the failing op reported success")
	}
	// The store still works.
	if err := s.Update(ctx, enqueueOp("d")); err != nil {
		t.Fatalf("write after an aborted batch: %v", err)
	}
}

// A notification never becomes due before an older pending one of its receiver and host
// group, so a resolution cannot overtake its firing.
func TestDeliveryOrderPerHostgroup(t *testing.T) { forEachBackend(t, testDeliveryOrderPerHostgroup) }

func testDeliveryOrderPerHostgroup(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	add := func(hostgroup string, at time.Time) int64 {
		var id int64
		err := s.Update(ctx, func(tx *Tx) error {
			var err error
			id, err = tx.Enqueue(NewNotification{Receiver: "r", Route: "x", Hostgroup: hostgroup, Status: "firing"}, []byte(`{}`), at)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	firing := add("a", t0)
	if err := s.MarkRetry(ctx, firing, t0.Add(time.Minute), false, Attempt{At: t0, Error: "503"}); err != nil {
		t.Fatal(err)
	}
	resolved := add("a", t0.Add(time.Second)) // enqueued while the firing waits for its retry
	other := add("b", t0.Add(time.Second))
	ids := func(at time.Time) []int64 {
		due, err := s.Due(ctx, "r", at, 10)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, n := range due {
			out = append(out, n.ID)
		}
		return out
	}
	if got := ids(t0.Add(2 * time.Second)); !slices.Equal(got, []int64{other}) {
		t.Fatalf("due before the retry = %v, want only %d (another host group)", got, other)
	}
	if got := ids(t0.Add(time.Minute)); !slices.Equal(got, []int64{other, firing, resolved}) {
		t.Fatalf("due at the retry = %v, want the firing before the resolution", got)
	}
	// The firing fails again: the resolution is pushed back with it.
	if err := s.MarkRetry(ctx, firing, t0.Add(3*time.Minute), false, Attempt{At: t0.Add(time.Minute), Error: "503"}); err != nil {
		t.Fatal(err)
	}
	if got := ids(t0.Add(2 * time.Minute)); len(got) != 1 || got[0] != other {
		t.Fatalf("due after a second failure = %v", got)
	}
}

// An alert's later notification is never due before its earlier one, even when the
// clock that enqueued it is behind the other's (replicas whose clocks differ).
func TestDeliveryOrderAcrossClocks(t *testing.T) { forEachBackend(t, testDeliveryOrderAcrossClocks) }

func testDeliveryOrderAcrossClocks(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	key := ClaimKey{"r", "fp"}
	send := func(status string, now time.Time) int64 {
		var ids []int64
		err := s.Update(ctx, func(tx *Tx) error {
			tx.Reserve(1, 1, []QueueKey{{"r", "hg"}})
			if _, err := tx.ClaimsOf([]ClaimKey{key}, ClaimLocks([]ClaimKey{key})...); err != nil {
				return err
			}
			var err error
			ids, err = tx.EnqueueAll(Enqueued{
				Batches:       [][]byte{[]byte(`{}`)},
				Notifications: []NewNotification{{Receiver: "r", Route: "x", Hostgroup: "hg", Status: status}},
				Claims:        []NewClaim{{Claim: Claim{Receiver: "r", Fingerprint: "fp", Status: status, StartsAt: t0, NotifiedAt: now}, HeldBy: 0}},
			}, now)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return ids[0]
	}
	ahead := t0.Add(5 * time.Second)
	firing := send("firing", ahead) // by a replica whose clock runs 5 s ahead
	resolved := send("resolved", t0)
	for _, c := range []struct {
		at   time.Time
		want []int64
	}{{t0.Add(time.Second), nil}, {ahead, []int64{firing, resolved}}} {
		due, err := s.Due(ctx, "r", c.at, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := idsOf(due); !slices.Equal(got, c.want) {
			t.Errorf("due at %v = %v, want %v (firing %d, resolution %d)", c.at.Sub(t0), got, c.want, firing, resolved)
		}
	}
}

func TestMarkFoldedSendsTheDigestAndPointsAtItsHead(t *testing.T) {
	forEachBackend(t, testMarkFoldedSendsTheDigestAndPointsAtItsHead)
}

func testMarkFoldedSendsTheDigestAndPointsAtItsHead(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	head := enqueue(t, s, "r1", t0)
	a := enqueue(t, s, "r1", t0)
	b := enqueue(t, s, "r1", t0)
	alone := enqueue(t, s, "r1", t0)
	if err := s.MarkFolded(ctx, head, []int64{a, b}, "", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t)
	sent, err := s.List(ctx, Filter{State: Sent, Limit: 10})
	if err != nil || len(sent) != 3 {
		t.Fatalf("sent = %+v, %v; want the head and two folded", sent, err)
	}
	into := map[int64]int64{}
	for _, n := range sent {
		into[n.ID] = n.FoldedInto
		if n.Attempts != 1 || !n.SentAt.Equal(t0.Add(time.Second)) {
			t.Errorf("notification %d = %+v, want sent at t0+1s after one attempt", n.ID, n)
		}
	}
	if into[head] != 0 || into[a] != head || into[b] != head {
		t.Fatalf("folded_into = %v, want %d and %d into %d, the head into none", into, a, b, head)
	}
	due, _ := s.Due(ctx, "r1", t0.Add(time.Second), 10)
	if len(due) != 1 || due[0].ID != alone {
		t.Fatalf("Due = %+v, want only %d", due, alone)
	}
}

// Of two claims of one alert in one EnqueueAll (its firing and its resolution in one
// webhook), the later is what stays, on both backends, however many claims share the
// statement.
func TestLaterClaimOfAnAlertWins(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open opener) {
		s := open(t)
		var e Enqueued
		// Four rounds of ten alerts: on SQLite a statement takes sixteen claims, so that
		// rounds meet within one statement as well as across two.
		for i := range 40 {
			status := "firing"
			if i >= 30 {
				status = "resolved"
			}
			e.Claims = append(e.Claims, NewClaim{Claim: Claim{Receiver: "r", Fingerprint: fmt.Sprint("f", i%10), Status: status,
				StartsAt: t0, NotifiedAt: t0.Add(time.Duration(i) * time.Second)}, HeldBy: NotHeld})
		}
		if err := s.Update(context.Background(), func(tx *Tx) error {
			_, err := tx.EnqueueAll(e, t0)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			fp := fmt.Sprint("f", i)
			c := claimsOf(t, s, "r", fp)[fp]
			if c.Status != "resolved" || !c.NotifiedAt.Equal(t0.Add(time.Duration(30+i)*time.Second)) {
				t.Fatalf("claim %s = %+v, want the later, resolved one", fp, c)
			}
		}
	})
}

// Sessions last until they end, or until logout; the audit log pages newest first, and
// goes with the history it speaks of.
func TestSessionsAndAuditLog(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		for _, ss := range []Session{
			{IDHash: "a", User: "alice", CSRF: "c1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
			{IDHash: "b", User: "bob", CSRF: "c2", CreatedAt: t0, ExpiresAt: t0.Add(2 * time.Hour)},
		} {
			if err := s.CreateSession(ctx, ss); err != nil {
				t.Fatal(err)
			}
		}
		if ss, ok, err := s.Session(ctx, "a", t0.Add(time.Minute)); err != nil || !ok || ss.User != "alice" || ss.CSRF != "c1" || !ss.ExpiresAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("session a = %+v, %v, %v", ss, ok, err)
		}
		if _, ok, err := s.Session(ctx, "a", t0.Add(time.Hour)); err != nil || ok {
			t.Fatalf("session a is still good when it ended: %v, %v", ok, err)
		}
		if err := s.DeleteSession(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.Session(ctx, "b", t0); err != nil || ok {
			t.Fatalf("session b outlived its logout: %v, %v", ok, err)
		}

		for i := range 5 {
			if err := s.RecordAudit(ctx, Audit{At: t0.Add(time.Duration(i) * time.Hour), Actor: "alice", Role: "operator", Source: "10.0.0.1",
				Action: "notification.retry", Target: fmt.Sprint("notification ", i), Result: "ok"}); err != nil {
				t.Fatal(err)
			}
		}
		page, err := s.AuditLog(ctx, 0, 2)
		if err != nil || len(page) != 2 || page[0].Target != "notification 4" || page[1].Target != "notification 3" {
			t.Fatalf("first page = %+v, %v", page, err)
		}
		next, err := s.AuditLog(ctx, page[1].ID, 10)
		if err != nil || len(next) != 3 || next[0].Target != "notification 2" || !next[2].At.Equal(t0) {
			t.Fatalf("second page = %+v, %v", next, err)
		}
		if _, _, err := s.Prune(ctx, t0.Add(150*time.Minute), t0.Add(3*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if all, err := s.AuditLog(ctx, 0, 10); err != nil || len(all) != 2 {
			t.Fatalf("after pruning: %+v, %v; want the two entries after the cutoff", all, err)
		}
	})
}

// Search pages by id with its filters; dead letters can be retried (as a new notification,
// due now) or discarded, once; failed attempts make a timeline.
func TestSearchRetryAndDiscard(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		var ids []int64
		for i := range 30 {
			receiver := []string{"r1", "r2"}[i%2]
			id := enqueue(t, s, receiver, t0.Add(time.Duration(i)*time.Minute))
			ids = append(ids, id)
		}
		page, next, err := s.Search(ctx, Query{Receiver: "r1", Limit: 4})
		if err != nil || len(page) != 4 || page[0].ID != ids[28] || page[3].ID != ids[22] || next != ids[22] {
			t.Fatalf("first page = %v, next %d, %v", idsOf(page), next, err)
		}
		page, _, err = s.Search(ctx, Query{Receiver: "r1", Limit: 100, Before: next})
		if err != nil || len(page) != 11 || page[0].ID != ids[20] {
			t.Fatalf("second page = %v, %v", idsOf(page), err)
		}
		page, _, err = s.Search(ctx, Query{AlertName: "B", Since: t0.Add(10 * time.Minute), Until: t0.Add(12 * time.Minute), Limit: 10})
		if err != nil || len(page) != 2 || page[0].ID != ids[11] || page[1].ID != ids[10] {
			t.Fatalf("by alert name and time = %v, %v", idsOf(page), err)
		}
		if page, _, err = s.Search(ctx, Query{AlertName: "%", Limit: 10}); err != nil || len(page) != 0 {
			t.Fatalf("a LIKE wildcard matched as an alert name: %v, %v", idsOf(page), err)
		}

		dead := ids[1] // r2's
		if err := s.MarkRetry(ctx, dead, t0, false, Attempt{At: t0.Add(time.Minute), Duration: 1500 * time.Millisecond, Error: "503"}); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkDead(ctx, dead, Attempt{At: t0.Add(2 * time.Minute), Duration: time.Second, Error: "401 bad token"}); err != nil {
			t.Fatal(err)
		}
		attempts, err := s.Attempts(ctx, dead)
		if err != nil || len(attempts) != 2 || attempts[0].Outcome != OutcomeRetry || attempts[0].Duration != 1500*time.Millisecond ||
			attempts[1].Outcome != OutcomeDead || attempts[1].Error != "401 bad token" {
			t.Fatalf("attempts = %+v, %v", attempts, err)
		}
		letters, _, err := s.Search(ctx, Query{DeadLetters: true, Limit: 10})
		if err != nil || len(letters) != 1 || letters[0].ID != dead {
			t.Fatalf("dead letters = %v, %v", idsOf(letters), err)
		}
		newID, receiver, err := s.RetryDead(ctx, dead, t0.Add(time.Hour))
		if err != nil || receiver != "r2" || newID <= ids[29] {
			t.Fatalf("retry = %d, %q, %v", newID, receiver, err)
		}
		if _, _, err := s.RetryDead(ctx, dead, t0.Add(time.Hour)); !errors.Is(err, ErrNotDeadLetter) {
			t.Fatalf("second retry of one dead letter: %v, want ErrNotDeadLetter", err)
		}
		again, ok, err := s.Notification(ctx, newID)
		if err != nil || !ok || again.State != Pending || again.Receiver != "r2" || again.BatchID != letters[0].BatchID || again.AlertCount != 2 {
			t.Fatalf("the retry = %+v, %v, %v", again, ok, err)
		}
		if old, _, _ := s.Notification(ctx, dead); old.RetriedAs != newID {
			t.Fatalf("the dead one does not point at its retry: %+v", old)
		}
		if letters, _, _ = s.Search(ctx, Query{DeadLetters: true, Limit: 10}); len(letters) != 0 {
			t.Fatalf("a retried dead letter is still listed: %v", idsOf(letters))
		}

		other := ids[3]
		if err := s.MarkDead(ctx, other, Attempt{At: t0, Error: "gone"}); err != nil {
			t.Fatal(err)
		}
		if err := s.DiscardDead(ctx, other, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.DiscardDead(ctx, other, t0.Add(time.Hour)); !errors.Is(err, ErrNotDeadLetter) {
			t.Fatalf("second discard: %v", err)
		}
		if err := s.DiscardDead(ctx, ids[5], t0); !errors.Is(err, ErrNotDeadLetter) {
			t.Fatalf("discard of a pending notification: %v", err)
		}
	})
}

func idsOf(ns []Notification) []int64 {
	var out []int64
	for _, n := range ns {
		out = append(out, n.ID)
	}
	return out
}

// Copies that dedupe suppressed add up per notification, source and reason, within a
// transaction and across them; they and the failed attempts go with their notification.
func TestSuppressionsAddUpAndArePruned(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		id := enqueue(t, s, "r1", t0)
		kept := enqueue(t, s, "r1", t0.Add(2*time.Hour))
		suppress := func(at time.Time, copies ...Suppressed) {
			t.Helper()
			if err := s.Update(ctx, func(tx *Tx) error { _, err := tx.EnqueueAll(Enqueued{Suppressed: copies}, at); return err }); err != nil {
				t.Fatal(err)
			}
		}
		am2 := Suppressed{NotificationID: id, Source: "http://am2:9093", Reason: "duplicate", Copies: 1, Alerts: 1}
		suppress(t0.Add(time.Second), am2, am2, Suppressed{NotificationID: id, Source: "http://am1:9093", Reason: "stale", Copies: 1, Alerts: 3})
		suppress(t0.Add(time.Minute), am2)
		suppress(t0.Add(2*time.Hour), Suppressed{NotificationID: kept, Source: "http://am2:9093", Reason: "duplicate", Copies: 1, Alerts: 2})
		got, err := s.Suppressions(ctx, id)
		want := []Suppression{
			{Source: "http://am1:9093", Reason: "stale", FirstAt: t0.Add(time.Second), LastAt: t0.Add(time.Second), Copies: 1, Alerts: 3},
			{Source: "http://am2:9093", Reason: "duplicate", FirstAt: t0.Add(time.Second), LastAt: t0.Add(time.Minute), Copies: 3, Alerts: 3},
		}
		if err != nil || len(got) != 2 {
			t.Fatalf("suppressions = %+v, %v", got, err)
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Source != w.Source || g.Reason != w.Reason || !g.FirstAt.Equal(w.FirstAt) || !g.LastAt.Equal(w.LastAt) || g.Copies != w.Copies || g.Alerts != w.Alerts {
				t.Errorf("suppression %d = %+v, want %+v", i, g, w)
			}
		}
		if err := s.MarkDead(ctx, id, Attempt{At: t0.Add(time.Minute), Error: "gone"}); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkRetry(ctx, kept, t0.Add(3*time.Hour), false, Attempt{At: t0.Add(2 * time.Hour), Error: "503"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Prune(ctx, t0.Add(time.Hour), t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"suppressions", "attempts"} {
			var gone, left int
			if err := s.read.QueryRowContext(ctx, s.sql(`SELECT
				(SELECT COUNT(*) FROM `+table+` WHERE notification_id = ?),
				(SELECT COUNT(*) FROM `+table+` WHERE notification_id = ?)`), id, kept).Scan(&gone, &left); err != nil {
				t.Fatal(err)
			}
			if gone != 0 || left != 1 {
				t.Errorf("%s after prune: %d of the pruned notification, %d of the kept one; want 0 and 1", table, gone, left)
			}
		}
	})
}

// Activity counts by the hours before now, and only within them; the last errors are each
// receiver's newest failed attempt.
func TestActivityAndLastErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		now := t0.Add(48 * time.Hour)
		old := enqueue(t, s, "r1", now.Add(-25*time.Hour))                 // beyond 24 h
		enqueue(t, s, "r1", now.Add(-90*time.Minute))                      // 1 hour ago
		fresh := enqueue(t, s, "r1", now.Add(-10*time.Minute))             // the last hour
		other := enqueue(t, s, "r2", now.Add(-59*time.Minute-time.Second)) // the last hour
		if err := s.MarkDead(ctx, fresh, Attempt{At: now.Add(-5 * time.Minute), Error: "401 newest"}); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkRetry(ctx, old, now, false, Attempt{At: now.Add(-20 * time.Minute), Error: "503 older"}); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkRetry(ctx, other, now, false, Attempt{At: now.Add(-30 * time.Hour), Error: "too old"}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Activity(ctx, now, 24)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, a := range got {
			counts[fmt.Sprintf("%s %s %d", a.Receiver, a.State, a.HoursAgo)] += a.N
		}
		want := map[string]int{"r1 pending 1": 1, "r1 dead 0": 1, "r2 pending 0": 1}
		if fmt.Sprint(counts) != fmt.Sprint(want) {
			t.Errorf("activity %v, want %v", counts, want)
		}
		errs, err := s.LastErrors(ctx, now.Add(-24*time.Hour))
		if err != nil || len(errs) != 1 || errs[0].Receiver != "r1" || errs[0].Error != "401 newest" || !errs[0].At.Equal(now.Add(-5*time.Minute)) {
			t.Errorf("last errors %+v, %v", errs, err)
		}
	})
}

// An acknowledgement covers one episode at every receiver: the first one is kept, a new
// episode has none, a resolved alert cannot be acknowledged, and it goes when no claim of
// its episode is left.
func TestAcknowledgeAnEpisode(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		episode := t0.Add(-time.Hour)
		put := func(receiver, status string, startsAt time.Time) {
			t.Helper()
			if err := s.Update(ctx, func(tx *Tx) error {
				return putClaims(tx, Claim{Receiver: receiver, Fingerprint: "fp1", Status: status, StartsAt: startsAt, NotifiedAt: t0, NotificationID: 1})
			}); err != nil {
				t.Fatal(err)
			}
		}
		put("r1", "firing", episode)
		put("r2", "firing", episode)
		alice := Ack{Author: "alice", At: t0, Comment: "on it", Source: "console"}
		starts, kept, first, err := s.Acknowledge(ctx, "fp1", time.Time{}, alice)
		if err != nil || !first || !starts.Equal(episode) || kept.Author != "alice" || kept.Comment != "on it" || !kept.At.Equal(t0) {
			t.Fatalf("acknowledge = %v %+v %v %v", starts, kept, first, err)
		}
		if _, kept, first, err := s.Acknowledge(ctx, "fp1", time.Time{}, Ack{Author: "bob", At: t0.Add(time.Minute), Source: "cli"}); err != nil || first || kept.Author != "alice" {
			t.Fatalf("a second acknowledgement = %+v %v %v, want alice's kept", kept, first, err)
		}
		for _, r := range []string{"r1", "r2"} {
			if c := claimsOf(t, s, r, "fp1")["fp1"]; c.Ack == nil || c.Ack.Author != "alice" || c.Ack.Source != "console" {
				t.Errorf("%s's claim: %+v, want alice's ack", r, c.Ack)
			}
		}
		put("r1", "firing", t0) // a new episode at r1
		if c := claimsOf(t, s, "r1", "fp1")["fp1"]; c.Ack != nil {
			t.Errorf("a new episode carries the old one's ack: %+v", c.Ack)
		}
		// Named, an episode is the one acknowledged, though a later one fires elsewhere; one
		// that fires nowhere any more is refused.
		put("r2", "resolved", episode)
		if _, _, _, err := s.Acknowledge(ctx, "fp1", episode, alice); !errors.Is(err, ErrNotFiring) {
			t.Fatalf("acknowledging a named episode that resolved: %v, want ErrNotFiring", err)
		}
		put("r2", "firing", episode)
		if starts, _, first, err := s.Acknowledge(ctx, "fp1", episode, alice); err != nil || first || !starts.Equal(episode) {
			t.Fatalf("acknowledging a named episode = %v %v %v, want the earlier episode's ack kept", starts, first, err)
		}
		if c := claimsOf(t, s, "r1", "fp1")["fp1"]; c.Ack != nil {
			t.Errorf("acknowledging a named episode acknowledged the latest: %+v", c.Ack)
		}
		put("r1", "resolved", t0)
		put("r2", "resolved", episode)
		if _, _, _, err := s.Acknowledge(ctx, "fp1", time.Time{}, alice); !errors.Is(err, ErrNotFiring) {
			t.Fatalf("acknowledging a resolved alert: %v, want ErrNotFiring", err)
		}
		if claims, err := s.AlertClaims(ctx, "fp1"); err != nil || len(claims) != 2 || claims[1].Ack == nil {
			t.Fatalf("the resolved episode's claims %+v, %v: r2's still names the ack", claims, err)
		}
		if _, _, err := s.Prune(ctx, t0.Add(time.Hour), t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		var left int
		if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM acks`).Scan(&left); err != nil || left != 0 {
			t.Errorf("acks after their claims were pruned: %d, %v", left, err)
		}
	})
}

// A silence and its copies: added with a copy due on each Alertmanager, extended by the
// same matchers, synced, failed, lost, expired, its notice marked once, pruned.
func TestSilenceCopies(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		sil := Silence{Matchers: `{hostgroup="gpu-1"}`, StartsAt: t0, EndsAt: t0.Add(time.Hour), CreatedBy: "alice", Comment: "driver"}
		got, extended, err := s.AddSilence(ctx, sil, []string{"am-a", "am-b"}, t0)
		if err != nil || extended || got.ID == 0 || len(got.Copies) != 2 || got.Copies[0].Synced || !got.EndsAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("add = %+v %v %v", got, extended, err)
		}
		due, err := s.DueCopies(ctx, t0, 10)
		if err != nil || len(due) != 2 || due[0].Silence.Matchers != sil.Matchers {
			t.Fatalf("due = %+v %v", due, err)
		}
		if err := s.CopySynced(ctx, got.ID, "am-a", "x1", got.UpdatedAt, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.CopyFailed(ctx, got.ID, "am-b", "503 down", t0.Add(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		if due, _ := s.DueCopies(ctx, t0.Add(time.Second), 10); len(due) != 0 {
			t.Fatalf("due before the retry and the check: %+v", due)
		}
		if behind, err := s.SilencesBehind(ctx, t0.Add(time.Second)); err != nil || len(behind) != 1 || behind["am-b"] != 1 {
			t.Fatalf("behind = %v %v, want am-b's one", behind, err)
		}
		// The same matchers, a shorter end and no comment: extended, never shortened.
		sil2 := sil
		sil2.EndsAt, sil2.Comment = t0.Add(30*time.Minute), ""
		again, extended, err := s.AddSilence(ctx, sil2, []string{"am-a", "am-b"}, t0.Add(time.Second))
		if err != nil || !extended || again.ID != got.ID || !again.EndsAt.Equal(t0.Add(time.Hour)) || again.Comment != "driver" {
			t.Fatalf("the same matchers again = %+v %v %v", again, extended, err)
		}
		for _, c := range again.Copies {
			if c.Synced {
				t.Errorf("%s is in line with a version it has not got", c.Alertmanager)
			}
			if c.Alertmanager == "am-a" && c.RemoteID != "x1" {
				t.Errorf("am-a's id was lost: %+v", c)
			}
		}
		if err := s.EnsureCopies(ctx, []string{"am-c"}, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := s.CopyLost(ctx, got.ID, "am-a", t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if due, _ := s.DueCopies(ctx, t0.Add(time.Second), 10); len(due) != 3 {
			t.Fatalf("due after extension, a new Alertmanager and a loss: %d, want 3", len(due))
		}
		expired, err := s.ExpireSilence(ctx, got.ID, t0.Add(10*time.Minute))
		if err != nil || !expired.EndsAt.Equal(t0.Add(10*time.Minute)) || expired.ExpiredAt.IsZero() || expired.Active(t0.Add(10*time.Minute)) {
			t.Fatalf("expire = %+v %v", expired, err)
		}
		if _, err := s.ExpireSilence(ctx, got.ID, t0.Add(11*time.Minute)); !errors.Is(err, ErrNoSilence) {
			t.Fatalf("expiring it again: %v", err)
		}
		ended, err := s.EndedSilences(ctx, t0.Add(11*time.Minute))
		if err != nil || len(ended) != 1 {
			t.Fatalf("ended = %+v %v", ended, err)
		}
		for i, want := range []bool{true, false} {
			var first bool
			if err := s.Update(ctx, func(tx *Tx) error { first, err = tx.MarkNoticed(got.ID); return err }); err != nil || first != want {
				t.Fatalf("notice %d: first %v %v, want %v", i, first, err, want)
			}
		}
		if list, err := s.Silences(ctx, t0); err != nil || len(list) != 1 || len(list[0].Copies) != 3 {
			t.Fatalf("silences = %+v %v", list, err)
		}
		if _, _, err := s.Prune(ctx, t0.Add(time.Hour), t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if list, _ := s.Silences(ctx, time.Time{}); len(list) != 0 {
			t.Fatalf("silences after the prune: %+v", list)
		}
	})
}

// A copy recorded as synced with a version the silence has moved past (extended while
// the copy was being made) stays due; one with the current version waits for its check.
// Adding the same matchers at once (replicas do) makes one silence.
func TestSilenceVersionsAndConcurrentAdds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		sil := Silence{Matchers: `{hostgroup="gpu-1"}`, StartsAt: t0, EndsAt: t0.Add(time.Hour), CreatedBy: "alice", Comment: "driver"}
		first, _, err := s.AddSilence(ctx, sil, []string{"am-a"}, t0)
		if err != nil {
			t.Fatal(err)
		}
		sil.EndsAt = t0.Add(2 * time.Hour)
		second, _, err := s.AddSilence(ctx, sil, []string{"am-a"}, t0.Add(time.Second))
		if err != nil || second.UpdatedAt.Equal(first.UpdatedAt) {
			t.Fatalf("the extension: %+v %v", second, err)
		}
		later := t0.Add(time.Minute)
		if err := s.CopySynced(ctx, first.ID, "am-a", "x1", first.UpdatedAt, later); err != nil {
			t.Fatal(err)
		}
		if due, _ := s.DueCopies(ctx, t0.Add(2*time.Second), 10); len(due) != 1 || due[0].Copy.Synced {
			t.Fatalf("a copy of an older version: due %+v, want it due and behind", due)
		}
		if err := s.CopySynced(ctx, first.ID, "am-a", "x1", second.UpdatedAt, later); err != nil {
			t.Fatal(err)
		}
		if due, _ := s.DueCopies(ctx, t0.Add(2*time.Second), 10); len(due) != 0 {
			t.Fatalf("a copy of the current version is due: %+v", due)
		}

		var wg sync.WaitGroup
		for round := range 10 {
			for i := range 8 {
				wg.Go(func() { // on PostgreSQL, each on its own connection
					c := Silence{Matchers: fmt.Sprintf(`{alertname="Race",round="%d"}`, round), StartsAt: t0,
						EndsAt: t0.Add(time.Duration(i+1) * time.Hour), CreatedBy: "bob", Comment: "race"}
					if _, _, err := s.AddSilence(ctx, c, []string{"am-a"}, t0); err != nil {
						t.Error(err)
					}
				})
			}
		}
		wg.Wait()
		list, err := s.Silences(ctx, t0)
		if err != nil {
			t.Fatal(err)
		}
		rounds := map[string]int{}
		for _, l := range list {
			if strings.Contains(l.Matchers, "Race") {
				rounds[l.Matchers]++
				if !l.EndsAt.Equal(t0.Add(8 * time.Hour)) {
					t.Errorf("%s ends at %v, want the latest end", l.Matchers, l.EndsAt)
				}
			}
		}
		for m, n := range rounds {
			if n != 1 {
				t.Errorf("%d silences %s from 8 concurrent adds, want 1", n, m)
			}
		}
		if len(rounds) != 10 {
			t.Errorf("%d rounds of adds made silences, want 10", len(rounds))
		}
	})
}
