package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
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

// NewNotification is what the webhook handler enqueues.
type NewNotification struct {
	Receiver   string
	Route      string
	Hostgroup  string
	Status     string // firing or resolved
	AlertNames []string
	AlertCount int
	Payload    []byte // JSON of the template data to render
}

// Notification is a stored outbox row.
type Notification struct {
	ID            int64
	Receiver      string
	Route         string
	Hostgroup     string
	Status        string
	AlertNames    []string
	AlertCount    int
	Payload       []byte
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
}

// Delivery order: a receiver gets the notifications of one host group in the order they
// were enqueued, so that a resolution never overtakes its firing. Two rules keep it, and
// let the dispatcher simply take due rows by (next_attempt_at, id): a new notification is
// due no earlier than the pending ones of its receiver and host group (Enqueue), and a
// retry pushes the later ones back with it (MarkRetry).
const enqueueQuery = `INSERT INTO notifications
	(receiver, route, hostgroup, status, alertnames, alert_count, payload, created_at, next_attempt_at, updated_at)
	VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,
		(SELECT MAX(?8, IFNULL(MAX(next_attempt_at), 0)) FROM notifications
			WHERE state = 'pending' AND receiver = ?1 AND hostgroup = ?3),
		?8)`

// pgEnqueueAllQuery inserts many notifications in one statement, in order: each is due no
// earlier than the pending ones of its receiver and host group committed before.
// Identities are drawn in the order of ord, so the ids, sorted, are the rows' in order.
const pgEnqueueAllQuery = `INSERT INTO notifications
	(receiver, route, hostgroup, status, alertnames, alert_count, payload, created_at, next_attempt_at, updated_at)
	SELECT u.receiver, u.route, u.hostgroup, u.status, u.alertnames, u.alert_count, u.payload, $8,
		(SELECT GREATEST($8, COALESCE(MAX(n.next_attempt_at), 0)) FROM notifications n
			WHERE n.state = 'pending' AND n.receiver = u.receiver AND n.hostgroup = u.hostgroup),
		$8
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::bytea[])
		WITH ORDINALITY AS u(receiver, route, hostgroup, status, alertnames, alert_count, payload, ord)
	ORDER BY u.ord
	RETURNING id`

// Enqueue inserts one pending notification (see EnqueueAll).
func (t *Tx) Enqueue(n NewNotification, now time.Time) (int64, error) {
	ids, err := t.EnqueueAll([]NewNotification{n}, now)
	if err != nil {
		return 0, err
	}
	return ids[0], nil
}

// EnqueueAll inserts pending notifications, in order (one statement on PostgreSQL), each
// due now or after the pending ones of its receiver and host group, and returns their
// ids. On a shared database it holds their queues' locks (shared; see QueueLock), taken
// with the caller's others if it locked them already; their receivers' replicas are woken
// when the transaction commits.
func (t *Tx) EnqueueAll(ns []NewNotification, now time.Time) ([]int64, error) {
	ids := make([]int64, 0, len(ns))
	if !t.pg {
		for _, n := range ns {
			res, err := t.tx.StmtContext(t.ctx, t.stmts.enqueue).ExecContext(t.ctx,
				n.Receiver, n.Route, n.Hostgroup, n.Status, strings.Join(n.AlertNames, ","), n.AlertCount, n.Payload, now.UnixMilli())
			if err != nil {
				return nil, fmt.Errorf("enqueue: %w", err)
			}
			id, err := res.LastInsertId()
			if err != nil {
				return nil, fmt.Errorf("enqueue: %w", err)
			}
			ids = append(ids, id)
		}
		return ids, nil
	}
	if len(ns) == 0 {
		return ids, nil
	}
	// The queues' shared locks, if the caller has not taken them with its others: a retry
	// pushing a queue back must not interleave with this insert.
	queues := make([]LockKey, len(ns))
	for i, n := range ns {
		queues[i] = QueueLock(n.Receiver, n.Hostgroup)
	}
	if err := t.Lock(queues...); err != nil {
		return nil, err
	}
	var (
		receivers, routes, hostgroups, statuses, names = make([]string, len(ns)), make([]string, len(ns)), make([]string, len(ns)), make([]string, len(ns)), make([]string, len(ns))
		counts                                         = make([]int32, len(ns))
		payloads                                       = make([][]byte, len(ns))
	)
	for i, n := range ns {
		receivers[i], routes[i], hostgroups[i], statuses[i] = n.Receiver, n.Route, n.Hostgroup, n.Status
		names[i], counts[i], payloads[i] = strings.Join(n.AlertNames, ","), int32(n.AlertCount), n.Payload
	}
	rows, err := t.tx.QueryContext(t.ctx, pgEnqueueAllQuery, receivers, routes, hostgroups, statuses, names, counts, payloads, now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("enqueue: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("enqueue: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("enqueue: %w", err)
	}
	if len(ids) != len(ns) {
		return nil, fmt.Errorf("enqueue: %d rows inserted for %d notifications", len(ids), len(ns))
	}
	slices.Sort(ids)
	t.woken = append(t.woken, receivers...)
	return ids, nil
}

const notificationColumns = `id, receiver, route, hostgroup, status, alertnames, alert_count, payload, state,
	attempts, last_error, created_at, next_attempt_at, updated_at, sent_at, folded_into`

func scanNotifications(rows *sql.Rows) ([]Notification, error) {
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		var (
			n                      Notification
			names                  string
			created, next, updated int64
			sent, folded           sql.NullInt64
		)
		if err := rows.Scan(&n.ID, &n.Receiver, &n.Route, &n.Hostgroup, &n.Status, &names, &n.AlertCount, &n.Payload,
			&n.State, &n.Attempts, &n.LastError, &created, &next, &updated, &sent, &folded); err != nil {
			return nil, err
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
	rows, err := s.read.QueryContext(ctx, s.sql(`SELECT `+notificationColumns+` FROM notifications
		WHERE state = 'pending' AND receiver = ? AND next_attempt_at <= ?
		ORDER BY next_attempt_at, id LIMIT ?`), receiver, now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("due: %w", err)
	}
	return scanNotifications(rows)
}

// NextDue is when the receiver's earliest pending notification is due; ok is false when it has none.
func (s *Store) NextDue(ctx context.Context, receiver string) (at time.Time, ok bool, err error) {
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
	return s.MarkFolded(ctx, id, nil, note, now)
}

// MarkFolded records a digest: head was sent as one message that also carried the folded
// notifications (of the same receiver), each of which is sent too, folded into head.
// note is the problem of a partial delivery, if any. All of it is one transaction.
//
// Like every outcome, it is fenced on the receiver's lease (Tx.fence): a replica that
// lost the lease records nothing and gets ErrLeaseLost.
func (s *Store) MarkFolded(ctx context.Context, head int64, folded []int64, note string, now time.Time) error {
	ms := now.UnixMilli()
	err := s.Update(ctx, func(t *Tx) error {
		if err := t.fence(head, false); err != nil {
			return err
		}
		for _, id := range append([]int64{head}, folded...) {
			var into any
			if id != head {
				into = head
			}
			if _, err := t.tx.ExecContext(t.ctx, t.sql(`UPDATE notifications
				SET state = 'sent', attempts = attempts + 1, last_error = ?, sent_at = ?, updated_at = ?, folded_into = ?
				WHERE id = ? AND state = 'pending'`), note, ms, ms, into, id); err != nil {
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

// MarkRetry schedules another attempt, and holds back the later notifications of the
// same receiver and host group until then. A throttled attempt (the receiver asked us to
// wait) does not count as an attempt.
func (s *Store) MarkRetry(ctx context.Context, id int64, next time.Time, throttled bool, lastError string, now time.Time) error {
	inc := 1
	if throttled {
		inc = 0
	}
	err := s.Update(ctx, func(t *Tx) error {
		if err := t.fence(id, true); err != nil {
			return err
		}
		if _, err := t.tx.ExecContext(t.ctx, t.sql(`UPDATE notifications
			SET attempts = attempts + ?, last_error = ?, next_attempt_at = ?, updated_at = ?
			WHERE id = ? AND state = 'pending'`), inc, lastError, next.UnixMilli(), now.UnixMilli(), id); err != nil {
			return err
		}
		_, err := t.tx.ExecContext(t.ctx, t.sql(`UPDATE notifications SET next_attempt_at = ?1
			WHERE state = 'pending' AND id > ?2 AND next_attempt_at < ?1
			AND (receiver, hostgroup) = (SELECT receiver, hostgroup FROM notifications WHERE id = ?2)`), next.UnixMilli(), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("mark retry: %w", err)
	}
	return nil
}

// MarkDead gives up on a notification and releases the dedupe claims it holds, so that the
// alerts it carried are sent again when Alertmanager repeats them.
func (s *Store) MarkDead(ctx context.Context, id int64, lastError string, now time.Time) error {
	return s.Update(ctx, func(t *Tx) error {
		if err := t.fence(id, false); err != nil {
			return err
		}
		return t.markDead(id, 1, lastError, now)
	})
}

func (t *Tx) markDead(id int64, attemptInc int, lastError string, now time.Time) error {
	ms := now.UnixMilli()
	res, err := t.tx.ExecContext(t.ctx, t.sql(`UPDATE notifications
		SET state = 'dead', attempts = attempts + ?, last_error = ?, updated_at = ?
		WHERE id = ? AND state = 'pending'`), attemptInc, lastError, ms, id)
	if err != nil {
		return fmt.Errorf("mark dead: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err // already finished (sent): its claims stand
	}
	if _, err := t.tx.ExecContext(t.ctx, t.sql(`DELETE FROM claims WHERE notification_id = ?`), id); err != nil {
		return fmt.Errorf("release claims: %w", err)
	}
	return nil
}

// Expired is a notification that Expire gave up on.
type Expired struct {
	ID       int64
	Receiver string
}

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
		rows, err := t.tx.QueryContext(t.ctx, t.pick(`SELECT id, receiver, last_error FROM notifications
			WHERE state = 'pending' AND created_at < ?
			AND receiver NOT IN (SELECT value FROM json_each(?))`, `SELECT id, receiver, last_error FROM notifications
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
		for _, r := range found {
			msg := reason
			if r.lastError != "" {
				msg = reason + ": " + r.lastError
			}
			if err := t.markDead(r.ID, 0, msg, now); err != nil {
				return err
			}
			out = append(out, r.Expired)
		}
		return nil
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
	q := `SELECT ` + notificationColumns + ` FROM notifications`
	var args []any
	if f.State != "" {
		q += ` WHERE state = ?`
		args = append(args, string(f.State))
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.Limit)
	rows, err := s.read.QueryContext(ctx, s.sql(q), args...)
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	return scanNotifications(rows)
}

// PendingByReceiver counts pending notifications per receiver: the outbox depth.
func (s *Store) PendingByReceiver(ctx context.Context) (map[string]int, error) {
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

// Prune deletes finished notifications and dedupe claims last touched before cutoff.
// Pending notifications are never pruned: Expire ends them first.
func (s *Store) Prune(ctx context.Context, cutoff time.Time) (notifications, claims int64, err error) {
	ms := cutoff.UnixMilli()
	err = s.Update(ctx, func(t *Tx) error {
		res, err := t.tx.ExecContext(t.ctx, t.sql(`DELETE FROM notifications WHERE state != 'pending' AND updated_at < ?`), ms)
		if err != nil {
			return err
		}
		if notifications, err = res.RowsAffected(); err != nil {
			return err
		}
		res, err = t.tx.ExecContext(t.ctx, t.sql(`DELETE FROM claims WHERE notified_at < ?`), ms)
		if err != nil {
			return err
		}
		claims, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("prune: %w", err)
	}
	return notifications, claims, nil
}
