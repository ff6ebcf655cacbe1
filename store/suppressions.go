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
	Alerts         int
}

// Suppression is the copies of a notification's alerts suppressed from one source for one
// reason: Copies webhooks carrying Alerts alerts in all, the first and the last at.
type Suppression struct {
	Source, Reason  string
	FirstAt, LastAt time.Time
	Copies, Alerts  int
}

// putSuppression adds one transaction's copies to a suppression, ?1 to ?5 being the
// notification, source, reason, time and alerts (on SQLite; PostgreSQL's takes arrays).
const (
	putSuppressionQuery = `INSERT INTO suppressions (notification_id, source, reason, first_at, last_at, copies, alerts)
	VALUES (?1, ?2, ?3, ?4, ?4, 1, ?5)
	ON CONFLICT (notification_id, source, reason) DO UPDATE SET
		last_at = excluded.last_at, copies = suppressions.copies + 1, alerts = suppressions.alerts + excluded.alerts`
	pgPutSuppressionsQuery = `INSERT INTO suppressions (notification_id, source, reason, first_at, last_at, copies, alerts)
	SELECT id, source, reason, $4, $4, 1, alerts FROM unnest($1::bigint[], $2::text[], $3::text[], $5::bigint[]) AS s(id, source, reason, alerts)
	ON CONFLICT (notification_id, source, reason) DO UPDATE SET
		last_at = excluded.last_at, copies = suppressions.copies + 1, alerts = suppressions.alerts + excluded.alerts`
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
		ids, sources, reasons, alerts := make([]int64, len(rows)), make([]string, len(rows)), make([]string, len(rows)), make([]int64, len(rows))
		for i, r := range rows {
			ids[i], sources[i], reasons[i], alerts[i] = r.NotificationID, r.Source, r.Reason, int64(r.Alerts)
		}
		t.atCommit("put suppressions", pgPutSuppressionsQuery, ids, sources, reasons, ms, alerts)
		return nil
	}
	stmt := t.tx.StmtContext(t.ctx, t.stmts.putSuppression)
	for _, r := range rows {
		if _, err := stmt.ExecContext(t.ctx, r.NotificationID, r.Source, r.Reason, ms, r.Alerts); err != nil {
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
