package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Query selects notifications for the console and its API. Empty fields select all.
type Query struct {
	Receiver, Route, Hostgroup string
	// AlertName is one of the alert names a notification carries.
	AlertName string
	State     State
	// DeadLetters keeps the dead notifications that were neither retried nor discarded.
	DeadLetters bool
	// Since and Until bound when the notification was accepted: [Since, Until).
	Since, Until time.Time
	// Before continues a listing: the notifications older than this id (0 from the newest).
	Before int64
	Limit  int
	// Keep, when set, is asked about every notification that the rest selects, for what
	// SQL cannot see (the labels of its alerts, in the batch).
	Keep func(*Notification) (bool, error)
}

// searchWindow is how many ids one Search looks through at most: a filter that matches
// rarely, on a long history, still answers at once, with a short page and where to go on.
const searchWindow = 20000

// Search returns up to q.Limit notifications that q selects, newest first, and the id to
// continue from with Before (0 when there is nothing older). Pages are by id (keyset), so
// a page costs the same on the first million rows as on the last.
func (s *Store) Search(ctx context.Context, q Query) ([]Notification, int64, error) {
	defer s.reading()()
	before := q.Before
	if before <= 0 {
		var top sql.NullInt64
		if err := s.read.QueryRowContext(ctx, `SELECT MAX(id) FROM notifications`).Scan(&top); err != nil {
			return nil, 0, fmt.Errorf("search: %w", err)
		}
		if !top.Valid {
			return nil, 0, nil
		}
		before = top.Int64 + 1
	}
	where := []string{"n.id < ?", "n.id >= ?"}
	args := []any{before, before - searchWindow}
	for _, f := range []struct{ col, val string }{{"n.receiver", q.Receiver}, {"n.route", q.Route}, {"n.hostgroup", q.Hostgroup}, {"n.state", string(q.State)}} {
		if f.val != "" {
			where, args = append(where, f.col+" = ?"), append(args, f.val)
		}
	}
	if q.AlertName != "" {
		where = append(where, `(',' || n.alertnames || ',') LIKE ? ESCAPE '\'`)
		args = append(args, "%,"+likeEscaper.Replace(q.AlertName)+",%")
	}
	if q.DeadLetters {
		where = append(where, "n.state = 'dead' AND n.retried_as IS NULL AND n.discarded_at IS NULL")
	}
	if !q.Since.IsZero() {
		where, args = append(where, "n.created_at >= ?"), append(args, q.Since.UnixMilli())
	}
	if !q.Until.IsZero() {
		where, args = append(where, "n.created_at < ?"), append(args, q.Until.UnixMilli())
	}
	rows, err := s.read.QueryContext(ctx, s.sql(`SELECT `+notificationColumns+` FROM `+notificationsFrom+`
		WHERE `+strings.Join(where, " AND ")+` ORDER BY n.id DESC`), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("search: %w", err)
	}
	all, err := scanNotifications(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("search: %w", err)
	}
	var out []Notification
	for i := range all {
		if q.Keep != nil {
			keep, err := q.Keep(&all[i])
			if err != nil {
				return nil, 0, err
			}
			if !keep {
				continue
			}
		}
		out = append(out, all[i])
		if len(out) == q.Limit {
			return out, all[i].ID, nil
		}
	}
	next := before - searchWindow
	if next <= 1 {
		next = 0
	}
	return out, next, nil
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)

// Notification returns one notification.
func (s *Store) Notification(ctx context.Context, id int64) (Notification, bool, error) {
	defer s.reading()()
	rows, err := s.read.QueryContext(ctx, s.sql(`SELECT `+notificationColumns+` FROM `+notificationsFrom+` WHERE n.id = ?`), id)
	if err != nil {
		return Notification{}, false, fmt.Errorf("notification: %w", err)
	}
	ns, err := scanNotifications(rows)
	if err != nil || len(ns) == 0 {
		return Notification{}, false, err
	}
	return ns[0], true, nil
}

// Attempts are the failed attempts of a notification, oldest first.
func (s *Store) Attempts(ctx context.Context, id int64) ([]Attempt, error) {
	defer s.reading()()
	rows, err := s.read.QueryContext(ctx, s.sql(`SELECT at, duration_ms, outcome, error FROM attempts
		WHERE notification_id = ? ORDER BY id`), id)
	if err != nil {
		return nil, fmt.Errorf("attempts: %w", err)
	}
	defer rows.Close()
	var out []Attempt
	for rows.Next() {
		var a Attempt
		var at, ms int64
		if err := rows.Scan(&at, &ms, &a.Outcome, &a.Error); err != nil {
			return nil, fmt.Errorf("attempts: %w", err)
		}
		a.At, a.Duration = time.UnixMilli(at), time.Duration(ms)*time.Millisecond
		out = append(out, a)
	}
	return out, rows.Err()
}

// Activity is how many notifications of a receiver and host group, accepted in one hour
// (HoursAgo: 0 for the last 60 minutes, 1 for the hour before, ...), are in a state.
type Activity struct {
	Receiver, Hostgroup string
	State               State
	HoursAgo            int
	N                   int
}

// Activity counts the notifications accepted in the hours before now, by receiver, host
// group, state and hour: one scan (created_at is indexed) that serves the last hour's and
// day's counts and the hourly charts alike.
func (s *Store) Activity(ctx context.Context, now time.Time, hours int) ([]Activity, error) {
	defer s.reading()()
	const hour = int64(time.Hour / time.Millisecond)
	ms := now.UnixMilli()
	// A row stamped after now (a clock step) counts as the last hour: the division
	// truncates toward zero on both backends.
	rows, err := s.read.QueryContext(ctx, s.sql(`SELECT receiver, hostgroup, state, (?1 - created_at) / ?2, COUNT(*)
		FROM notifications WHERE created_at > ?1 - ?3 GROUP BY receiver, hostgroup, state, (?1 - created_at) / ?2`),
		ms, hour, int64(hours)*hour)
	if err != nil {
		return nil, fmt.Errorf("activity: %w", err)
	}
	defer rows.Close()
	var out []Activity
	for rows.Next() {
		var a Activity
		if err := rows.Scan(&a.Receiver, &a.Hostgroup, &a.State, &a.HoursAgo, &a.N); err != nil {
			return nil, fmt.Errorf("activity: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Backlog is what waits for a receiver and host group: how many, since when, and when the
// next is due.
type Backlog struct {
	Receiver, Hostgroup string
	Pending             int
	Oldest, NextDue     time.Time
}

// Backlogs are the pending notifications, by receiver and host group.
func (s *Store) Backlogs(ctx context.Context) ([]Backlog, error) {
	defer s.reading()()
	rows, err := s.read.QueryContext(ctx, `SELECT receiver, hostgroup, COUNT(*), MIN(created_at), MIN(next_attempt_at)
		FROM notifications WHERE state = 'pending' GROUP BY receiver, hostgroup`)
	if err != nil {
		return nil, fmt.Errorf("backlogs: %w", err)
	}
	defer rows.Close()
	var out []Backlog
	for rows.Next() {
		var b Backlog
		var oldest, next int64
		if err := rows.Scan(&b.Receiver, &b.Hostgroup, &b.Pending, &oldest, &next); err != nil {
			return nil, fmt.Errorf("backlogs: %w", err)
		}
		b.Oldest, b.NextDue = time.UnixMilli(oldest), time.UnixMilli(next)
		out = append(out, b)
	}
	return out, rows.Err()
}

// LastError is the last problem a receiver reported, and when.
type LastError struct {
	Receiver, Error string
	At              time.Time
}

// LastErrors are the receivers' last failed attempts since then, the newest first. They
// are read from the attempts (failures only), not from the notifications: on a busy day
// there are far fewer.
func (s *Store) LastErrors(ctx context.Context, since time.Time) ([]LastError, error) {
	defer s.reading()()
	rows, err := s.read.QueryContext(ctx, s.sql(`SELECT n.receiver, a.error, a.at FROM attempts a
		JOIN notifications n ON n.id = a.notification_id
		WHERE a.at >= ? ORDER BY a.at DESC, a.id DESC`), since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("last errors: %w", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	var out []LastError
	for rows.Next() {
		var e LastError
		var at int64
		if err := rows.Scan(&e.Receiver, &e.Error, &at); err != nil {
			return nil, fmt.Errorf("last errors: %w", err)
		}
		if !seen[e.Receiver] {
			seen[e.Receiver] = true
			e.At = time.UnixMilli(at)
			out = append(out, e)
		}
	}
	return out, rows.Err()
}

// ErrNotDeadLetter means a notification is not a dead letter (not dead, or retried or
// discarded already): retrying or discarding it does nothing.
var ErrNotDeadLetter = errors.New("not a dead letter")

// RetryDead enqueues a dead notification again, as a new notification (due now, after
// what waits in its queue), and returns the new one's id and receiver; the dead one
// points at it and leaves the dead letters.
func (s *Store) RetryDead(ctx context.Context, id int64, now time.Time) (newID int64, receiver string, err error) {
	ms := now.UnixMilli()
	err = s.Update(ctx, func(t *Tx) error {
		var hostgroup string
		err := t.queryRow(`SELECT receiver, hostgroup FROM notifications
			WHERE id = ? AND state = 'dead' AND retried_as IS NULL AND discarded_at IS NULL`, id).Scan(&receiver, &hostgroup)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotDeadLetter
		}
		if err != nil {
			return err
		}
		if err := t.Lock(QueueLock(receiver, hostgroup)); err != nil {
			return err
		}
		// A copy of the dead one, at the back of its queue, as a new notification would be.
		if err := t.queryRow(`INSERT INTO notifications
			(receiver, route, hostgroup, status, alertnames, alert_count, batch_id, alerts, created_at, next_attempt_at, updated_at, acks)
			SELECT receiver, route, hostgroup, status, alertnames, alert_count, batch_id, alerts, ?1,
				`+dueBehindQueue(t.pg, "?1", "n.receiver", "n.hostgroup")+`, ?1, acks
			FROM notifications n WHERE n.id = ?2
			RETURNING id`, ms, id).Scan(&newID); err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE notifications SET retried_as = ? WHERE id = ?`, newID, id); err != nil {
			return err
		}
		t.woken = append(t.woken, receiver)
		return nil
	})
	if err != nil {
		return 0, "", fmt.Errorf("retry notification %d: %w", id, err)
	}
	return newID, receiver, nil
}

// DiscardDead takes a dead notification out of the dead letters.
func (s *Store) DiscardDead(ctx context.Context, id int64, now time.Time) error {
	err := s.Update(ctx, func(t *Tx) error {
		res, err := t.exec(`UPDATE notifications SET discarded_at = ?
			WHERE id = ? AND state = 'dead' AND retried_as IS NULL AND discarded_at IS NULL`, now.UnixMilli(), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, ErrNotDeadLetter)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("discard notification %d: %w", id, err)
	}
	return nil
}
