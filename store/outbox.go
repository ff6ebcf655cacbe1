package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// State is where a notification is in its life: pending until it ends sent or dead.
type State string

// The states of a notification.
const (
	Pending State = "pending"
	Sent    State = "sent"
	Dead    State = "dead"
)

// ParseState accepts the names of the states.
func ParseState(s string) (State, error) {
	switch st := State(s); st {
	case Pending, Sent, Dead:
		return st, nil
	}
	return "", fmt.Errorf("unknown state %q (want pending, sent or dead)", s)
}

// NewNotification is a notification to enqueue. Its alerts are stored once, in a batch
// (an encoded list of alerts, the caller's format) that the notifications of one
// transaction share: two receivers that get the same alerts do not store them twice.
type NewNotification struct {
	Receiver   string
	Route      string
	Hostgroup  string
	Status     string // firing or resolved
	AlertNames []string
	AlertCount int
	// Batch is the index, in Enqueued.Batches, of the batch that holds its alerts.
	Batch int
	// Alerts are the indices of the batch's alerts it carries; nil for all of them.
	Alerts []int
	// Acks are the acknowledgements of its alerts' episodes, by fingerprint, that it
	// reports: a resolution says who had the alert.
	Acks map[string]Ack
}

// NewClaim is a dedupe claim to write, and the notification of the same transaction that
// holds it: its NotificationID becomes that notification's id.
type NewClaim struct {
	Claim
	// HeldBy is the index, in Enqueued.Notifications, of the notification that carries the
	// alert, or NotHeld when the claim changes without a notification (it keeps its
	// NotificationID).
	HeldBy int
}

// NotHeld is the HeldBy of a claim that no notification carries.
const NotHeld = -1

// Enqueued is what one transaction adds to the outbox: batches of encoded alerts, the
// notifications that carry them, the dedupe claims that record them, and the copies that
// dedupe suppressed. A batch that no notification points at is not stored.
type Enqueued struct {
	Batches       [][]byte
	Notifications []NewNotification
	Claims        []NewClaim
	Suppressed    []Suppressed
}

// Notification is a stored outbox row.
type Notification struct {
	ID         int64
	Receiver   string
	Route      string
	Hostgroup  string
	Status     string
	AlertNames []string
	AlertCount int
	// Batch is the encoded batch that holds the notification's alerts (BatchID), and
	// Alerts the indices of the ones it carries (nil for all).
	BatchID       int64
	Batch         []byte
	Alerts        []int
	State         State
	Attempts      int
	LastError     string
	CreatedAt     time.Time
	NextAttemptAt time.Time
	UpdatedAt     time.Time
	SentAt        time.Time // zero until sent
	// FoldedInto is the notification whose message carried this one in a digest; 0 when
	// it went out (or waits to go out) in a message of its own.
	FoldedInto int64
	// SentDuration is how long the attempt that sent it took.
	SentDuration time.Duration
	// RetriedAs is the notification that a retry from the console made of this dead one;
	// DiscardedAt is when a dead one was discarded. Either takes it out of the dead letters.
	RetriedAs   int64
	DiscardedAt time.Time
	// Acks are the acknowledgements it reports (NewNotification.Acks).
	Acks map[string]Ack
}

// Delivery order: a receiver gets the notifications of one host group in the order they
// were enqueued, so that a resolution never overtakes its firing. Two rules keep it, and
// let the dispatcher simply take due rows by (next_attempt_at, id): a new notification is
// due no earlier than the pending ones of its receiver and host group (EnqueueAll), and a
// retry pushes the later ones back with it (MarkRetry).
var enqueueQuery = `INSERT INTO notifications
	(receiver, route, hostgroup, status, alertnames, alert_count, batch_id, alerts, created_at, next_attempt_at, updated_at, acks)
	VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ` + dueBehindQueue(false, "?9", "?1", "?3") + `, ?9, ?10)`

// dueBehindQueue is the SQL of when a new notification of the queue (receiver,
// hostgroup) is due: at now, or with the last pending one of the queue if that is later.
// On PostgreSQL, ORDER BY ... LIMIT 1 rather than MAX: the planner turns MAX into that
// anyway, after planning both (and GREATEST ignores NULL).
func dueBehindQueue(pg bool, now, receiver, hostgroup string) string {
	if pg {
		return `GREATEST(` + now + `, (SELECT q.next_attempt_at FROM notifications q
			WHERE q.state = 'pending' AND q.receiver = ` + receiver + ` AND q.hostgroup = ` + hostgroup + `
			ORDER BY q.next_attempt_at DESC LIMIT 1))`
	}
	return `(SELECT MAX(` + now + `, IFNULL(MAX(q.next_attempt_at), 0)) FROM notifications q
		WHERE q.state = 'pending' AND q.receiver = ` + receiver + ` AND q.hostgroup = ` + hostgroup + `)`
}

const putBatchQuery = `INSERT INTO batches (created_at, body) VALUES (?, ?)`

// EnqueueAll's statements on PostgreSQL: plain inserts of rows whose ids were reserved
// beforehand (Tx.Reserve), sent with the commit (Tx.atCommit), so that they cost no round
// trip of their own and little planning (every statement is planned afresh:
// plan_cache_mode=force_custom_plan). Each takes its rows as arrays, one per column.
var (
	pgInsertBatchesQuery = `INSERT INTO batches (id, created_at, body)
	SELECT x.id, $1, x.body FROM unnest($2::bigint[], $3::bytea[]) AS x(id, body)`
	// Each notification is due when dueTimes says (holds.go).
	pgInsertNotificationsQuery = `INSERT INTO notifications
	(id, receiver, route, hostgroup, status, alertnames, alert_count, batch_id, alerts, created_at, next_attempt_at, updated_at, acks)
	OVERRIDING SYSTEM VALUE
	SELECT u.id, u.receiver, u.route, u.hostgroup, u.status, u.alertnames, u.alert_count, u.batch_id, u.alerts, $1, u.due, $1, u.acks
	FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::bigint[], $10::text[], $11::text[], $12::bigint[])
		AS u(id, receiver, route, hostgroup, status, alertnames, alert_count, batch_id, alerts, acks, due)`
	// Claims that ClaimsOf did not find, under their locks, are new: a plain insert
	// skips the upsert's speculative insertion (a third of the time of claims' writes).
	pgInsertClaimsQuery = `INSERT INTO claims (receiver, fingerprint, status, starts_at, notified_at, notification_id)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])`
	pgPutClaimsQuery = `INSERT INTO claims (receiver, fingerprint, status, starts_at, notified_at, notification_id)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
	ON CONFLICT (receiver, fingerprint) DO UPDATE SET
		status = excluded.status, starts_at = excluded.starts_at,
		notified_at = excluded.notified_at, notification_id = excluded.notification_id`
)

// Enqueue inserts one pending notification that carries every alert of batch (see
// EnqueueAll), and returns its id.
func (t *Tx) Enqueue(n NewNotification, batch []byte, now time.Time) (int64, error) {
	n.Batch, n.Alerts = 0, nil
	ids, err := t.EnqueueAll(Enqueued{Batches: [][]byte{batch}, Notifications: []NewNotification{n}}, now)
	if err != nil {
		return 0, err
	}
	return ids[0], nil
}

// EnqueueAll stores e: its batches, its notifications (pending, in order, each due now or
// after the pending ones of its receiver and host group) and its claims (each replacing
// the receiver's previous claim for the fingerprint; of two for one alert, the later
// wins). It returns the notifications' ids, in order. On PostgreSQL its writes go with
// the commit's round trip; it holds the notifications' queue locks (shared; see
// QueueLock), taken with the caller's others if it locked them already, and wakes their
// receivers' replicas when the transaction commits.
func (t *Tx) EnqueueAll(e Enqueued, now time.Time) ([]int64, error) {
	for _, n := range e.Notifications {
		if n.Batch < 0 || n.Batch >= len(e.Batches) {
			return nil, fmt.Errorf("enqueue: notification for %s names batch %d of %d", n.Receiver, n.Batch, len(e.Batches))
		}
	}
	for _, c := range e.Claims {
		if c.HeldBy != NotHeld && (c.HeldBy < 0 || c.HeldBy >= len(e.Notifications)) {
			return nil, fmt.Errorf("enqueue: claim held by notification %d of %d", c.HeldBy, len(e.Notifications))
		}
	}
	for _, c := range e.Suppressed {
		if c.NotificationID == 0 && (c.Enqueued < 0 || c.Enqueued >= len(e.Notifications)) {
			return nil, fmt.Errorf("enqueue: copies suppressed for notification %d of %d", c.Enqueued, len(e.Notifications))
		}
	}
	enqueue := t.sqliteEnqueue
	if t.pg {
		enqueue = t.pgEnqueue
	}
	ids, err := enqueue(e, now)
	if err != nil {
		return nil, err
	}
	copies := slices.Clone(e.Suppressed)
	for i, c := range copies {
		if c.NotificationID == 0 {
			copies[i].NotificationID = ids[c.Enqueued]
		}
	}
	if err := t.suppress(copies, now); err != nil {
		return nil, err
	}
	return ids, nil
}

func (t *Tx) sqliteEnqueue(e Enqueued, now time.Time) ([]int64, error) {
	ms := now.UnixMilli()
	batchIDs := make([]int64, len(e.Batches)) // 0 until stored
	ids := make([]int64, len(e.Notifications))
	for i, n := range e.Notifications {
		if batchIDs[n.Batch] == 0 {
			res, err := t.tx.StmtContext(t.ctx, t.stmts.putBatch).ExecContext(t.ctx, ms, e.Batches[n.Batch])
			if err != nil {
				return nil, fmt.Errorf("enqueue: %w", err)
			}
			if batchIDs[n.Batch], err = res.LastInsertId(); err != nil {
				return nil, fmt.Errorf("enqueue: %w", err)
			}
		}
		acks, err := encodeAcks(n.Acks)
		if err != nil {
			return nil, fmt.Errorf("enqueue: %w", err)
		}
		res, err := t.tx.StmtContext(t.ctx, t.stmts.enqueue).ExecContext(t.ctx,
			n.Receiver, n.Route, n.Hostgroup, n.Status, strings.Join(n.AlertNames, ","), n.AlertCount,
			batchIDs[n.Batch], alertList(n.Alerts), ms, acks)
		if err != nil {
			return nil, fmt.Errorf("enqueue: %w", err)
		}
		if ids[i], err = res.LastInsertId(); err != nil {
			return nil, fmt.Errorf("enqueue: %w", err)
		}
	}
	stmt := t.tx.StmtContext(t.ctx, t.stmts.putClaim)
	for _, c := range e.Claims {
		id := c.NotificationID
		if c.HeldBy != NotHeld {
			id = ids[c.HeldBy]
		}
		if _, err := stmt.ExecContext(t.ctx, c.Receiver, c.Fingerprint, c.Status,
			ClaimTime(c.StartsAt).UnixNano(), c.NotifiedAt.UnixMilli(), id); err != nil {
			return nil, fmt.Errorf("put claim: %w", err)
		}
	}
	return ids, nil
}

func (t *Tx) pgEnqueue(e Enqueued, now time.Time) ([]int64, error) {
	// The queues' shared locks, if the caller has not taken them with its others: a retry
	// pushing a queue back must not interleave with this insert. Their holds are read
	// after them, with the ids, unless Reserve read them already.
	queues, locks := make([]QueueKey, len(e.Notifications)), make([]LockKey, len(e.Notifications))
	for i, n := range e.Notifications {
		queues[i], locks[i] = QueueKey{n.Receiver, n.Hostgroup}, QueueLock(n.Receiver, n.Hostgroup)
	}
	if err := t.Lock(locks...); err != nil {
		return nil, err
	}
	t.wantHolds(queues)
	// Only the batches that notifications point at.
	batchID := make([]int64, len(e.Batches)) // 0 until given an id
	var stored int
	for _, n := range e.Notifications {
		if batchID[n.Batch] == 0 {
			batchID[n.Batch] = -1
			stored++
		}
	}
	ns := e.Notifications
	notificationIDs, batchIDs, err := t.takeIDs(len(ns), stored)
	if err != nil {
		return nil, err
	}
	if stored > 0 {
		bodies := make([][]byte, 0, stored)
		ids := batchIDs
		for i, id := range batchID {
			if id == -1 {
				batchID[i], ids = ids[0], ids[1:]
				bodies = append(bodies, e.Batches[i])
			}
		}
		t.atCommit("enqueue batches", pgInsertBatchesQuery, now.UnixMilli(), batchIDs, bodies)
	}
	if len(ns) > 0 {
		receivers, routes, hostgroups, statuses, names := make([]string, len(ns)), make([]string, len(ns)), make([]string, len(ns)), make([]string, len(ns)), make([]string, len(ns))
		counts, batches, alerts, acks := make([]int32, len(ns)), make([]int64, len(ns)), make([]*string, len(ns)), make([]*string, len(ns))
		for i, n := range ns {
			receivers[i], routes[i], hostgroups[i], statuses[i] = n.Receiver, n.Route, n.Hostgroup, n.Status
			names[i], counts[i], batches[i], alerts[i] = strings.Join(n.AlertNames, ","), int32(n.AlertCount), batchID[n.Batch], alertList(n.Alerts)
			if acks[i], err = encodeAcks(n.Acks); err != nil {
				return nil, fmt.Errorf("enqueue: %w", err)
			}
		}
		t.atCommit("enqueue", pgInsertNotificationsQuery, now.UnixMilli(), notificationIDs,
			receivers, routes, hostgroups, statuses, names, counts, batches, alerts, acks, t.dueTimes(e, now))
		t.woken = append(t.woken, receivers...)
	}
	if len(e.Claims) > 0 {
		// The last claim of each alert, in key order, as every writer of claims rows should:
		// one statement cannot update a row twice, and two transactions updating the same
		// rows in opposite orders deadlock.
		// (Sorted by index: a claim is too large to copy around.)
		claims := lastPerKey(e.Claims)
		order := make([]int, len(claims))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(i, j int) int {
			a, b := &claims[i], &claims[j]
			return cmp.Or(cmp.Compare(a.Receiver, b.Receiver), cmp.Compare(a.Fingerprint, b.Fingerprint))
		})
		// Those ClaimsOf found absent are new rows (pgInsertClaimsQuery), present once
		// this runs.
		inserts, upserts := make([]int, 0, len(order)), []int(nil)
		for _, i := range order {
			k := ClaimKey{claims[i].Receiver, claims[i].Fingerprint}
			if t.absent[k] {
				inserts = append(inserts, i)
				delete(t.absent, k)
			} else {
				upserts = append(upserts, i)
			}
		}
		put := func(what, query string, rows []int) {
			if len(rows) == 0 {
				return
			}
			n := len(rows)
			receivers, fps, statuses := make([]string, n), make([]string, n), make([]string, n)
			starts, notified, ids := make([]int64, n), make([]int64, n), make([]int64, n)
			for i, ci := range rows {
				c := &claims[ci]
				receivers[i], fps[i], statuses[i] = c.Receiver, c.Fingerprint, c.Status
				starts[i], notified[i], ids[i] = ClaimTime(c.StartsAt).UnixNano(), c.NotifiedAt.UnixMilli(), c.NotificationID
				if c.HeldBy != NotHeld {
					ids[i] = notificationIDs[c.HeldBy]
				}
			}
			t.atCommit(what, query, receivers, fps, statuses, starts, notified, ids)
		}
		put("insert claims", pgInsertClaimsQuery, inserts)
		put("put claims", pgPutClaimsQuery, upserts)
	}
	return notificationIDs, nil
}

// alertList is how a notification's alert indices are stored: "0,2,5", or NULL for all.
func alertList(alerts []int) *string {
	if alerts == nil {
		return nil
	}
	parts := make([]string, len(alerts))
	for i, a := range alerts {
		parts[i] = strconv.Itoa(a)
	}
	s := strings.Join(parts, ",")
	return &s
}

func parseAlertList(s sql.NullString) ([]int, error) {
	if !s.Valid {
		return nil, nil
	}
	out := []int{}
	if s.String == "" {
		return out, nil
	}
	for _, p := range strings.Split(s.String, ",") {
		i, err := strconv.Atoi(p)
		if err != nil || i < 0 {
			return nil, fmt.Errorf("alerts %q: not a list of indices", s.String)
		}
		out = append(out, i)
	}
	return out, nil
}

// notificationColumns are what scanNotifications reads, from notificationsFrom.
const (
	notificationColumns = `n.id, n.receiver, n.route, n.hostgroup, n.status, n.alertnames, n.alert_count, n.batch_id, b.body, n.alerts,
	n.state, n.attempts, n.last_error, n.created_at, n.next_attempt_at, n.updated_at, n.sent_at, n.folded_into,
	n.sent_duration_ms, n.retried_as, n.discarded_at, n.acks`
	notificationsFrom = `notifications n JOIN batches b ON b.id = n.batch_id`
)

func scanNotifications(rows *sql.Rows) ([]Notification, error) {
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		var (
			n                      Notification
			names                  string
			alerts                 sql.NullString
			created, next, updated int64
			sent, folded           sql.NullInt64
			took, retried, thrown  sql.NullInt64
			acks                   sql.NullString
		)
		if err := rows.Scan(&n.ID, &n.Receiver, &n.Route, &n.Hostgroup, &n.Status, &names, &n.AlertCount, &n.BatchID, &n.Batch, &alerts,
			&n.State, &n.Attempts, &n.LastError, &created, &next, &updated, &sent, &folded, &took, &retried, &thrown, &acks); err != nil {
			return nil, err
		}
		n.SentDuration, n.RetriedAs = time.Duration(took.Int64)*time.Millisecond, retried.Int64
		if thrown.Valid {
			n.DiscardedAt = time.UnixMilli(thrown.Int64)
		}
		var err error
		if n.Alerts, err = parseAlertList(alerts); err != nil {
			return nil, fmt.Errorf("notification %d: %w", n.ID, err)
		}
		if n.Acks, err = decodeAcks(acks); err != nil {
			return nil, fmt.Errorf("notification %d: %w", n.ID, err)
		}
		if names != "" {
			n.AlertNames = strings.Split(names, ",")
		}
		n.CreatedAt, n.NextAttemptAt, n.UpdatedAt = time.UnixMilli(created), time.UnixMilli(next), time.UnixMilli(updated)
		if sent.Valid {
			n.SentAt = time.UnixMilli(sent.Int64)
		}
		n.FoldedInto = folded.Int64
		out = append(out, n)
	}
	return out, rows.Err()
}

// Due returns up to limit pending notifications of one receiver whose next attempt is due, oldest first.
func (s *Store) Due(ctx context.Context, receiver string, now time.Time, limit int) ([]Notification, error) {
	defer s.reading()()
	rows, err := s.read.QueryContext(ctx, s.sql(`SELECT `+notificationColumns+` FROM `+notificationsFrom+`
		WHERE n.state = 'pending' AND n.receiver = ? AND n.next_attempt_at <= ?
		ORDER BY n.next_attempt_at, n.id LIMIT ?`), receiver, now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("due: %w", err)
	}
	return scanNotifications(rows)
}

// NextDue is when the receiver's earliest pending notification is due; ok is false when it has none.
func (s *Store) NextDue(ctx context.Context, receiver string) (at time.Time, ok bool, err error) {
	defer s.reading()()
	var ms sql.NullInt64
	err = s.read.QueryRowContext(ctx, s.sql(`SELECT MIN(next_attempt_at) FROM notifications
		WHERE state = 'pending' AND receiver = ?`), receiver).Scan(&ms)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next due: %w", err)
	}
	if !ms.Valid {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(ms.Int64), true, nil
}

// MarkSent records a successful delivery; note is the problem of a partial one, if any.
func (s *Store) MarkSent(ctx context.Context, id int64, note string, now time.Time) error {
	return s.MarkSentAll(ctx, []Delivery{{ID: id, Note: note}}, now)
}

// MarkFolded records a digest: head was sent as one message that also carried the folded
// notifications (of the same receiver), each of which is sent too, folded into head.
func (s *Store) MarkFolded(ctx context.Context, head int64, folded []int64, note string, now time.Time) error {
	return s.MarkSentAll(ctx, []Delivery{{ID: head, Folded: folded, Note: note}}, now)
}

// Delivery is a delivery to record: notification ID went out, in one message with the
// notifications Folded into it (a digest); Note is the problem of a partial delivery.
type Delivery struct {
	ID       int64
	Folded   []int64
	Note     string
	Duration time.Duration // of the attempt that sent it
}

const (
	markSentQuery = `UPDATE notifications
	SET state = 'sent', attempts = attempts + 1, last_error = ?, sent_at = ?, updated_at = ?, folded_into = ?,
		sent_duration_ms = ?
	WHERE id = ? AND state = 'pending'`
	// pgMarkSentQuery is markSentQuery for many rows in one statement: $2 the ids, $3 the
	// notes, $4 what each was folded into (0 for none), $5 the attempts' durations.
	pgMarkSentQuery = `UPDATE notifications n
	SET state = 'sent', attempts = n.attempts + 1, last_error = u.note, sent_at = $1, updated_at = $1,
		folded_into = NULLIF(u.folded_into, 0), sent_duration_ms = u.duration_ms
	FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[]) AS u(id, note, folded_into, duration_ms)
	WHERE n.id = u.id AND n.state = 'pending'`
)

// MarkSentAll records deliveries to one receiver, all in one transaction: a worker that
// delivers quickly records many at once, rather than waiting for a commit after each.
//
// Like every outcome, it is fenced on the receiver's lease (Tx.fence): a replica that
// lost the lease records nothing and gets ErrLeaseLost.
func (s *Store) MarkSentAll(ctx context.Context, sent []Delivery, now time.Time) error {
	if len(sent) == 0 {
		return nil
	}
	ms := now.UnixMilli()
	var ids, into, durations []int64
	var notes []string
	for _, r := range sent {
		ids, into, notes, durations = append(ids, r.ID), append(into, 0), append(notes, r.Note), append(durations, r.Duration.Milliseconds())
		for _, f := range r.Folded {
			ids, into, notes, durations = append(ids, f), append(into, r.ID), append(notes, r.Note), append(durations, r.Duration.Milliseconds())
		}
	}
	err := s.Update(ctx, func(t *Tx) error {
		// One receiver's: one lease to hold.
		if err := t.fence(sent[0].ID, false); err != nil {
			return err
		}
		if t.pg {
			_, err := t.exec(pgMarkSentQuery, ms, ids, notes, into, durations)
			return err
		}
		stmt := t.tx.StmtContext(t.ctx, t.stmts.markSent)
		for i, id := range ids {
			var folded any
			if into[i] != 0 {
				folded = into[i]
			}
			if _, err := stmt.ExecContext(t.ctx, notes[i], ms, ms, folded, durations[i], id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mark sent: %w", err)
	}
	return nil
}

// Attempt is one try at delivering a notification that did not end in its delivery: when
// it ended, how long it took, how it ended (an Outcome) and why.
type Attempt struct {
	At       time.Time
	Duration time.Duration
	Outcome  string
	Error    string
}

// The outcomes of an Attempt: Expired is given up on without a try (its receiver gone).
const (
	OutcomeRetry     = "retry"
	OutcomeThrottled = "throttled"
	OutcomeDead      = "dead"
	OutcomeExpired   = "expired"
)

// record adds an attempt of notification id to its timeline.
func (t *Tx) record(id int64, a Attempt) error {
	_, err := t.exec(`INSERT INTO attempts (notification_id, at, duration_ms, outcome, error) VALUES (?, ?, ?, ?, ?)`,
		id, a.At.UnixMilli(), a.Duration.Milliseconds(), a.Outcome, a.Error)
	return err
}

// MarkRetry schedules another attempt at next, and holds back the later notifications of
// the same receiver and host group until then. A throttled attempt (the receiver asked
// us to wait) does not count as an attempt.
func (s *Store) MarkRetry(ctx context.Context, id int64, next time.Time, throttled bool, a Attempt) error {
	inc := 1
	a.Outcome = OutcomeRetry
	if throttled {
		inc, a.Outcome = 0, OutcomeThrottled
	}
	err := s.Update(ctx, func(t *Tx) error {
		if err := t.fence(id, true); err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE notifications
			SET attempts = attempts + ?, last_error = ?, next_attempt_at = ?, updated_at = ?
			WHERE id = ? AND state = 'pending'`, inc, a.Error, next.UnixMilli(), a.At.UnixMilli(), id); err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE notifications SET next_attempt_at = ?1
			WHERE state = 'pending' AND id > ?2 AND next_attempt_at < ?1
			AND (receiver, hostgroup) = (SELECT receiver, hostgroup FROM notifications WHERE id = ?2)`, next.UnixMilli(), id); err != nil {
			return err
		}
		if t.pg { // and those enqueued later (holds.go)
			if _, err := t.exec(pgHoldQueueQuery, id, next.UnixMilli()); err != nil {
				return err
			}
		}
		return t.record(id, a)
	})
	if err != nil {
		return fmt.Errorf("mark retry: %w", err)
	}
	return nil
}

// MarkDead gives up on a notification after attempt a, and releases the dedupe claims it
// holds, so that the alerts it carried are sent again when Alertmanager repeats them.
func (s *Store) MarkDead(ctx context.Context, id int64, a Attempt) error {
	a.Outcome = OutcomeDead
	return s.Update(ctx, func(t *Tx) error {
		if err := t.fence(id, false); err != nil {
			return err
		}
		dead, err := t.markDead(id, 1, a)
		if err != nil || !dead {
			return err // already finished (sent): its claims stand
		}
		return t.releaseClaims([]int64{id})
	})
}

// markDead gives up on notification id, if it is still pending (dead).
func (t *Tx) markDead(id int64, attemptInc int, a Attempt) (dead bool, err error) {
	res, err := t.exec(`UPDATE notifications
		SET state = 'dead', attempts = attempts + ?, last_error = ?, updated_at = ?
		WHERE id = ? AND state = 'pending'`, attemptInc, a.Error, a.At.UnixMilli(), id)
	if err != nil {
		return false, fmt.Errorf("mark dead: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	if err := t.record(id, a); err != nil {
		return false, fmt.Errorf("mark dead: %w", err)
	}
	return true, nil
}

// releaseClaims deletes the dedupe claims that notifications ids hold. On PostgreSQL it
// first takes the locks that an accept deciding on those claims takes (ClaimLocks), all
// in one call: a delete that took their rows in another order than an accept's upsert
// would deadlock with it.
func (t *Tx) releaseClaims(ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if !t.pg {
		for _, id := range ids {
			if _, err := t.exec(`DELETE FROM claims WHERE notification_id = ?`, id); err != nil {
				return fmt.Errorf("release claims: %w", err)
			}
		}
		return nil
	}
	// No claim comes to point at a notification that is no longer pending: those read
	// here are all the rows the delete can touch.
	rows, err := t.query(`SELECT receiver, fingerprint FROM claims WHERE notification_id = ANY($1)`, ids)
	if err != nil {
		return fmt.Errorf("release claims: %w", err)
	}
	var keys []ClaimKey
	for rows.Next() {
		var k ClaimKey
		if err := rows.Scan(&k.Receiver, &k.Fingerprint); err != nil {
			rows.Close()
			return fmt.Errorf("release claims: %w", err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("release claims: %w", err)
	}
	if err := t.Lock(ClaimLocks(keys)...); err != nil {
		return fmt.Errorf("release claims: %w", err)
	}
	if _, err := t.exec(`DELETE FROM claims WHERE notification_id = ANY($1)`, ids); err != nil {
		return fmt.Errorf("release claims: %w", err)
	}
	return nil
}

// Expired is a notification that Expire gave up on.
type Expired struct {
	ID       int64
	Receiver string
}

// expireQuery (SQLite) selects the pending notifications made before a cutoff whose
// receiver is none of a JSON list. Through the pending rows' index, named: without
// statistics SQLite's planner took the range of created_at instead, which once the
// history is older than max_retry_age is every row (2.7 s on 1.2 million notifications,
// in the writer, every minute).
const expireQuery = `SELECT id, receiver, last_error FROM notifications INDEXED BY notifications_due
	WHERE state = 'pending' AND created_at < ? AND receiver NOT IN (SELECT value FROM json_each(?))`

// Expire marks dead the pending notifications created before cutoff whose receiver is not
// among configured, with reason as their last error. No delivery attempt will ever reach
// them; configured receivers give up on their own rows at their next attempt.
func (s *Store) Expire(ctx context.Context, configured []string, cutoff time.Time, reason string, now time.Time) ([]Expired, error) {
	names, err := json.Marshal(configured)
	if err != nil {
		return nil, fmt.Errorf("expire: %w", err)
	}
	var out []Expired
	err = s.Update(ctx, func(t *Tx) error {
		var list any = string(names)
		if t.pg {
			list = configured
		}
		rows, err := t.query(t.pick(expireQuery, `SELECT id, receiver, last_error FROM notifications
			WHERE state = 'pending' AND created_at < $1 AND NOT (receiver = ANY($2))`), cutoff.UnixMilli(), list)
		if err != nil {
			return err
		}
		type row struct {
			Expired
			lastError string
		}
		var found []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.ID, &r.Receiver, &r.lastError); err != nil {
				rows.Close()
				return err
			}
			found = append(found, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var dead []int64
		for _, r := range found {
			msg := reason
			if r.lastError != "" {
				msg = reason + ": " + r.lastError
			}
			ok, err := t.markDead(r.ID, 0, Attempt{At: now, Outcome: OutcomeExpired, Error: msg})
			if err != nil {
				return err
			}
			if ok {
				dead = append(dead, r.ID)
			}
			out = append(out, r.Expired)
		}
		// Their claims' locks in one call, in one order.
		return t.releaseClaims(dead)
	})
	if err != nil {
		return nil, fmt.Errorf("expire: %w", err)
	}
	return out, nil
}

// Filter selects notifications for listing.
type Filter struct {
	State State // empty for all
	Limit int
}

// List returns the most recent notifications first.
func (s *Store) List(ctx context.Context, f Filter) ([]Notification, error) {
	defer s.reading()()
	q := `SELECT ` + notificationColumns + ` FROM ` + notificationsFrom
	var args []any
	if f.State != "" {
		q += ` WHERE n.state = ?`
		args = append(args, string(f.State))
	}
	q += ` ORDER BY n.id DESC LIMIT ?`
	args = append(args, f.Limit)
	rows, err := s.read.QueryContext(ctx, s.sql(q), args...)
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	return scanNotifications(rows)
}

// PendingByReceiver counts pending notifications per receiver: the outbox depth.
func (s *Store) PendingByReceiver(ctx context.Context) (map[string]int, error) {
	defer s.reading()()
	rows, err := s.read.QueryContext(ctx, `SELECT receiver, COUNT(*) FROM notifications
		WHERE state = 'pending' GROUP BY receiver`)
	if err != nil {
		return nil, fmt.Errorf("pending: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var r string
		var n int
		if err := rows.Scan(&r, &n); err != nil {
			return nil, err
		}
		out[r] = n
	}
	return out, rows.Err()
}

// Prune deletes in rounds, each its own transaction, and gives the writer back between
// them: it runs in SQLite's writer, webhooks wait behind each transaction, and the
// history of a storm a week old, deleted in one, held them for minutes (1.2 million
// notifications: no webhook answered in the 60 s measured) and grew the WAL by 2 GB.
// A round deletes about notificationsPerRound notifications (with their batches,
// attempts and suppressions), or claimsPerRound claims: claims are keyed by fingerprint,
// so each is on a page of its own. After a round Prune waits pruneYield times as long as
// it took, so that it takes at most a quarter of the writer's time.
const (
	notificationsPerRound = 1000
	claimsPerRound        = 100
	pruneYield            = 3
)

// prunedQuery selects the notifications a round of Prune deletes: finished, last touched
// before the cutoff (?1), made before the round's bound (?2, at most the cutoff). Found by
// created_at (indexed; a row is never touched before it is made).
const prunedQuery = `SELECT id FROM notifications WHERE state != 'pending' AND created_at < ?2 AND updated_at < ?1`

// pruneBatchesQuery deletes the batches of the notifications a round deletes that no
// other notification points at, before those notifications go. A batch is stored only
// with the notifications that point at it (EnqueueAll), and Prune alone deletes
// notifications, so these are all the batches that lose their last one. Found through
// the notifications rather than by the batches' own age: batches have no index on it, and
// scanning them all (600,000 on a database of 6 million alerts, 80 ms in the sqlite3 shell)
// held up every webhook behind the janitor once a minute.
const pruneBatchesQuery = `DELETE FROM batches WHERE id IN (SELECT batch_id FROM notifications WHERE id IN (` + prunedQuery + `))
	AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.batch_id = batches.id
		AND (n.state = 'pending' OR n.created_at >= ?1 OR n.updated_at >= ?1))`

// roundBoundQuery selects the value of column in the row at an offset (?3) among those of
// table where it lies in [?1, ?2).
func roundBoundQuery(table, column string) string {
	return `SELECT ` + column + ` FROM ` + table + ` WHERE ` + column + ` >= ? AND ` + column + ` < ?
		ORDER BY ` + column + ` LIMIT 1 OFFSET ?`
}

// roundBound is the bound of Prune's next round of rows on column (created_at or
// notified_at, indexed) of table: past the rows-th row at or after from, or cutoff when
// fewer remain before it (last is then true). Counting from the last round's bound, rather
// than from the oldest row, moves on past the rows a round keeps (pending notifications,
// claims an accept holds), however many.
func (t *Tx) roundBound(table, column string, rows int, from, cutoff int64) (bound int64, last bool, err error) {
	var nth int64
	err = t.queryRow(roundBoundQuery(table, column), from, cutoff, rows).Scan(&nth)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return cutoff, true, nil
	case err != nil:
		return 0, false, err
	case nth+1 >= cutoff:
		return cutoff, true, nil
	}
	return nth + 1, false, nil // the rows of nth's millisecond too: a round moves on
}

// pruneRounds deletes, in rounds of about rows rows, what del deletes of the rows of
// table whose column (created_at or notified_at) lies before a round's bound, until that
// bound is cutoff, and returns the rows del's results counted.
func (s *Store) pruneRounds(ctx context.Context, table, column string, rows int, cutoff int64, del func(t *Tx, bound int64) (sql.Result, error)) (deleted int64, err error) {
	bound, last := int64(math.MinInt64), false
	for !last {
		began := time.Now()
		var n int64
		err := s.Update(ctx, func(t *Tx) error {
			from := bound
			var err error
			if bound, last, err = t.roundBound(table, column, rows, from, cutoff); err != nil {
				return err
			}
			res, err := del(t, bound)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return deleted, fmt.Errorf("prune %s: %w", table, err)
		}
		deleted += n
		if !last {
			select {
			case <-ctx.Done():
				return deleted, fmt.Errorf("prune %s: %w", table, ctx.Err())
			case <-time.After(pruneYield * time.Since(began)):
			}
		}
	}
	return deleted, nil
}

// Prune deletes finished notifications, dedupe claims and audit entries last touched
// before cutoff, the batches that no notification points at any more, and the sessions
// that ended before now, in rounds (see notificationsPerRound), and returns what the
// rounds that committed deleted.
// Pending notifications are never pruned: Expire ends them first.
func (s *Store) Prune(ctx context.Context, cutoff, now time.Time) (notifications, claims int64, err error) {
	ms := cutoff.UnixMilli()
	notifications, err = s.pruneRounds(ctx, "notifications", "created_at", notificationsPerRound, ms, func(t *Tx, bound int64) (sql.Result, error) {
		// The batches first, while the notifications that point at them are there; then
		// what the timelines say of them, found by their ids.
		if _, err := t.exec(pruneBatchesQuery, ms, bound); err != nil {
			return nil, err
		}
		for _, table := range []string{"attempts", "suppressions"} {
			if _, err := t.exec(`DELETE FROM `+table+` WHERE notification_id IN (`+prunedQuery+`)`, ms, bound); err != nil {
				return nil, err
			}
		}
		return t.exec(`DELETE FROM notifications WHERE id IN (`+prunedQuery+`)`, ms, bound)
	})
	if err != nil {
		return notifications, 0, err
	}
	claims, err = s.pruneRounds(ctx, "claims", "notified_at", claimsPerRound, ms, func(t *Tx, bound int64) (sql.Result, error) {
		// On PostgreSQL, without the rows that an accept has locked: waiting for them
		// while holding others could deadlock with it. They go next time.
		return t.exec(t.pick(`DELETE FROM claims WHERE notified_at < ?`,
			`DELETE FROM claims WHERE ctid = ANY(ARRAY(SELECT ctid FROM claims WHERE notified_at < $1 FOR UPDATE SKIP LOCKED))`), bound)
	})
	if err != nil {
		return notifications, claims, err
	}
	err = s.Update(ctx, func(t *Tx) error {
		// An acknowledgement lasts while some receiver's claim is of its episode.
		if _, err := t.exec(`DELETE FROM acks WHERE at < ? AND NOT EXISTS
			(SELECT 1 FROM claims c WHERE c.fingerprint = acks.fingerprint AND c.starts_at = acks.starts_at)`, ms); err != nil {
			return err
		}
		// Silences that ended, and were told of, before the cutoff; their copies first.
		const endedSilences = `SELECT id FROM silences WHERE ends_at < ? AND noticed = 1`
		if _, err := t.exec(`DELETE FROM silence_copies WHERE silence_id IN (`+endedSilences+`)`, ms); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM silences WHERE id IN (`+endedSilences+`)`, ms); err != nil {
			return err
		}
		// Holds that have passed hold nothing back (PostgreSQL: holds.go).
		if t.pg {
			if _, err := t.exec(`DELETE FROM queue_holds WHERE until < $1`, now.UnixMilli()); err != nil {
				return err
			}
		}
		// The audit log is kept as long as the history it speaks of; logins until they end.
		if _, err := t.exec(`DELETE FROM audit WHERE at < ?`, ms); err != nil {
			return err
		}
		_, err = t.exec(`DELETE FROM sessions WHERE expires_at < ?`, now.UnixMilli())
		return err
	})
	if err != nil {
		return notifications, claims, fmt.Errorf("prune: %w", err)
	}
	return notifications, claims, nil
}
