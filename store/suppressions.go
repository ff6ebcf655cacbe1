package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// Suppressed is what dedupe did not send again, in one transaction, of the alerts that a
// notification carries: Alerts of them came again from Source (an Alertmanager's
// external URL) and were dropped for Reason.
type Suppressed struct {
	// NotificationID is the notification; 0 for the one at index Enqueued of the
	// Enqueued that holds this: the first copy came in the same transaction (from the
	// other Alertmanager of a pair, at the same moment).
	NotificationID int64
	Enqueued       int
	Source, Reason string
	// Copies is how many webhooks brought these Alerts alerts.
	Copies, Alerts int
}

// Suppression is the copies of a notification's alerts suppressed from one source for one
// reason: Copies webhooks carrying Alerts alerts in all, the first and the last at.
type Suppression struct {
	Source, Reason  string
	FirstAt, LastAt time.Time
	Copies, Alerts  int
}

// putSuppression adds one transaction's copies to a suppression, ?1 to ?6 being the
// notification, source, reason, time, copies and alerts (on SQLite; PostgreSQL's takes
// arrays).
const (
	putSuppressionQuery = `INSERT INTO suppressions (notification_id, source, reason, first_at, last_at, copies, alerts)
	VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)
	ON CONFLICT (notification_id, source, reason) DO UPDATE SET
		last_at = excluded.last_at, copies = suppressions.copies + excluded.copies, alerts = suppressions.alerts + excluded.alerts`
	pgPutSuppressionsQuery = `INSERT INTO suppressions (notification_id, source, reason, first_at, last_at, copies, alerts)
	SELECT id, source, reason, $4, $4, copies, alerts
	FROM unnest($1::bigint[], $2::text[], $3::text[], $5::bigint[], $6::bigint[]) AS s(id, source, reason, copies, alerts)
	ON CONFLICT (notification_id, source, reason) DO UPDATE SET
		last_at = excluded.last_at, copies = suppressions.copies + excluded.copies, alerts = suppressions.alerts + excluded.alerts`
)

// suppress records copies, in key order: one statement cannot update a row twice, and two
// replicas updating the same rows in opposite orders would deadlock.
func (t *Tx) suppress(copies []Suppressed, now time.Time) error {
	if len(copies) == 0 {
		return nil
	}
	type key struct {
		id             int64
		source, reason string
	}
	sum := map[key]*Suppressed{}
	var rows []*Suppressed
	for _, c := range copies {
		k := key{c.NotificationID, c.Source, c.Reason}
		if r := sum[k]; r != nil {
			r.Copies += c.Copies
			r.Alerts += c.Alerts
			continue
		}
		sum[k] = &c
		rows = append(rows, &c)
	}
	slices.SortFunc(rows, func(a, b *Suppressed) int {
		return cmp.Or(cmp.Compare(a.NotificationID, b.NotificationID), cmp.Compare(a.Source, b.Source), cmp.Compare(a.Reason, b.Reason))
	})
	ms := now.UnixMilli()
	if t.pg {
		n := len(rows)
		ids, sources, reasons, copies, alerts := make([]int64, n), make([]string, n), make([]string, n), make([]int64, n), make([]int64, n)
		for i, r := range rows {
			ids[i], sources[i], reasons[i], copies[i], alerts[i] = r.NotificationID, r.Source, r.Reason, int64(r.Copies), int64(r.Alerts)
		}
		t.atCommit("put suppressions", pgPutSuppressionsQuery, ids, sources, reasons, ms, copies, alerts)
		return nil
	}
	stmt := t.tx.StmtContext(t.ctx, t.stmts.putSuppression)
	for _, r := range rows {
		if _, err := stmt.ExecContext(t.ctx, r.NotificationID, r.Source, r.Reason, ms, r.Copies, r.Alerts); err != nil {
			return fmt.Errorf("put suppression: %w", err)
		}
	}
	return nil
}

// Suppressions are the copies of notification id's alerts that dedupe suppressed, by
// when they were first seen.
func (s *Store) Suppressions(ctx context.Context, id int64) ([]Suppression, error) {
	defer s.reading()()
	rows, err := s.read.QueryContext(ctx, s.sql(`SELECT source, reason, first_at, last_at, copies, alerts
		FROM suppressions WHERE notification_id = ? ORDER BY first_at, source, reason`), id)
	if err != nil {
		return nil, fmt.Errorf("suppressions: %w", err)
	}
	defer rows.Close()
	var out []Suppression
	for rows.Next() {
		var r Suppression
		var first, last int64
		if err := rows.Scan(&r.Source, &r.Reason, &first, &last, &r.Copies, &r.Alerts); err != nil {
			return nil, fmt.Errorf("suppressions: %w", err)
		}
		r.FirstAt, r.LastAt = time.UnixMilli(first), time.UnixMilli(last)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("suppressions: %w", err)
	}
	return out, nil
}
