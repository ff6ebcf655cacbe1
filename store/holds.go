package store

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Delivery order on PostgreSQL (see enqueueQuery for the rule). SQLite finds when a new
// notification is due from its queue's last pending one, in the insert. On PostgreSQL that
// lookup, an index scan per notification at the busy end of the outbox's index, planned
// afresh in every accept (plan_cache_mode), took a tenth of the accept's time; instead:
//   - a retry that pushes a queue back records until when (pgHoldQueueQuery), and a new
//     notification of the queue is due no earlier: the queue's hold is its last pending
//     notification's time, as far as retries made it later than its enqueue;
//   - a notification is due no earlier than when the alerts it carries were last
//     notified, as the claims read under their locks say: replicas whose clocks differ
//     still send an alert's resolution after its firing.
//
// The holds of an accept's queues are read with its claims (Tx.Reserve), in the same
// round trip; other enqueues read them with their ids.

// QueueKey names one delivery queue: a receiver's notifications of one host group.
type QueueKey struct{ Receiver, Hostgroup string }

const (
	// pgQueueHoldsQuery reads the holds of receivers $1: the table holds one row per
	// queue retried since the last pruning, so the receivers' rows are few.
	pgQueueHoldsQuery = `SELECT receiver, hostgroup, until FROM queue_holds WHERE receiver = ANY($1::text[])`
	// pgHoldQueueQuery raises the hold of notification $1's queue to $2.
	pgHoldQueueQuery = `INSERT INTO queue_holds (receiver, hostgroup, until)
		SELECT receiver, hostgroup, $2 FROM notifications WHERE id = $1
		ON CONFLICT (receiver, hostgroup) DO UPDATE SET until = GREATEST(queue_holds.until, excluded.until)`
)

// wantHolds asks for the holds of queues to be read with the transaction's next round
// trip, unless read already.
func (t *Tx) wantHolds(queues []QueueKey) {
	for _, q := range queues {
		if _, read := t.holds[q]; !read {
			t.want.queues = append(t.want.queues, q)
		}
	}
}

// queueHolds queues onto b the read of the holds wanted, and returns what reads its
// result (nil when none are wanted).
func (t *Tx) queueHolds(b *pgx.Batch) func(pgx.BatchResults) error {
	queues := t.want.queues
	t.want.queues = nil
	if len(queues) == 0 {
		return nil
	}
	var receivers []string
	for _, q := range queues {
		receivers = append(receivers, q.Receiver)
	}
	b.Queue(pgQueueHoldsQuery, uniq(receivers))
	return func(br pgx.BatchResults) error {
		if t.holds == nil {
			t.holds = make(map[QueueKey]int64, len(queues))
		}
		for _, q := range queues {
			t.holds[q] = 0 // read: no hold unless the rows say so
		}
		rows, err := br.Query()
		if err != nil {
			return fmt.Errorf("queue holds: %w", err)
		}
		var q QueueKey
		var until int64
		_, err = pgx.ForEachRow(rows, []any{&q.Receiver, &q.Hostgroup, &until}, func() error {
			t.holds[q] = until
			return nil
		})
		if err != nil {
			return fmt.Errorf("queue holds: %w", err)
		}
		return nil
	}
}

// notedClaims records, on PostgreSQL, when the claims ClaimsOf read were last notified.
func (t *Tx) notedClaims(claims map[ClaimKey]Claim) {
	if t.notified == nil {
		t.notified = make(map[ClaimKey]int64, len(claims))
	}
	for k, c := range claims {
		t.notified[k] = c.NotifiedAt.UnixMilli()
	}
}

// dueTimes are when the notifications of e are due, on PostgreSQL: at now, after their
// queue's hold, and after the alerts they carry were last notified. The holds must have
// been read (wantHolds).
func (t *Tx) dueTimes(e Enqueued, now time.Time) []int64 {
	due := make([]int64, len(e.Notifications))
	for i, n := range e.Notifications {
		due[i] = max(now.UnixMilli(), t.holds[QueueKey{n.Receiver, n.Hostgroup}])
	}
	for _, c := range e.Claims {
		if c.HeldBy != NotHeld {
			due[c.HeldBy] = max(due[c.HeldBy], t.notified[ClaimKey{c.Receiver, c.Fingerprint}])
		}
	}
	return due
}
