package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
)

// Claim is the dedupe state of one alert at one receiver: the last status claimed for
// delivery, the episode it belonged to, when, and the notification that carries it.
type Claim struct {
	Receiver       string
	Fingerprint    string
	Status         string // firing or resolved
	StartsAt       time.Time
	NotifiedAt     time.Time
	NotificationID int64 // 0 when the state changed without a notification
	// Ack is the acknowledgement of the claim's episode, if any (read with the claim).
	Ack *Ack
}

// ClaimTime is t as a claim holds it: claims keep startsAt in Unix nanoseconds, so times
// outside 1677-2262 (a startsAt from the year 9999) are held as the nearest end.
func ClaimTime(t time.Time) time.Time {
	lo, hi := time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64)
	switch {
	case t.Before(lo):
		return lo
	case t.After(hi):
		return hi
	}
	return t
}

// claimsOfQuery reads every claim of the alerts (fingerprints, as JSON), at every receiver:
// they are next to each other (claims are keyed by fingerprint first).
const claimsOfQuery = `SELECT ` + claimColumns + ` FROM ` + claimsWithAcks + `
	WHERE c.fingerprint IN (SELECT value FROM json_each(?))`

// claimColumns are what scanClaim reads, from claimsWithAcks: a claim and the
// acknowledgement of its episode (NULLs when there is none).
const (
	claimColumns   = `c.receiver, c.fingerprint, c.status, c.starts_at, c.notified_at, c.notification_id, a.author, a.at, a.comment, a.source`
	claimsWithAcks = `claims c LEFT JOIN acks a ON a.fingerprint = c.fingerprint AND a.starts_at = c.starts_at`
)

// ClaimKey names one alert at one receiver.
type ClaimKey struct{ Receiver, Fingerprint string }

// pgClaimsOfQuery is claimsOfQuery on PostgreSQL, for keys given as arrays of receivers
// ($1) and fingerprints ($2). Each key is looked up on its own, in the primary keys
// (LATERAL ... LIMIT 1, which the planner cannot turn into a join of another shape):
// the accept runs it on a generic plan (acceptPlansQuery).
const pgClaimsOfQuery = `SELECT ` + claimColumns + ` FROM unnest($1::text[], $2::text[]) AS k(receiver, fingerprint)
	CROSS JOIN LATERAL (SELECT * FROM claims c WHERE c.receiver = k.receiver AND c.fingerprint = k.fingerprint LIMIT 1) c
	LEFT JOIN LATERAL (SELECT * FROM acks a WHERE a.fingerprint = c.fingerprint AND a.starts_at = c.starts_at LIMIT 1) a ON true`

// acceptPlansQuery sets how the rest of an accept's transaction is planned. A session
// plans each statement afresh (plan_cache_mode=force_custom_plan): a prepared statement
// must not keep a plan made while its tables were empty, which would scan them whole once
// they are not (measured: from 8,000 alerts/s to 880 in 25 s). That planning took a tenth
// of an accept, whose statements are written to need one plan at any table size: inserts
// from arrays, and reads that look up each key in a primary key (pgClaimsOfQuery,
// pgQueueHoldsQuery). So they run on the generic plan that each connection keeps, with
// sequential scans ruled out, so that a plan made on empty tables still looks keys up
// (TestAcceptReadsLookUpOnlyTheirKeys).
const acceptPlansQuery = `SELECT set_config('plan_cache_mode', 'force_generic_plan', true), set_config('enable_seqscan', 'off', true)`

// ClaimsOf loads the claims of many receivers' alerts at once, keyed as asked. On a
// shared database it first takes locks (see Lock), which must cover the keys (their
// ClaimLock, or their receiver's exclusive ReceiverLock): EnqueueAll inserts the claims
// it did not find as new rows. It then reserves the ids Reserve asked for: the locks,
// the read, the reservation and, when they are the transaction's first statements, its
// BEGIN go in one round trip. From there on, the transaction's statements run on
// generic plans (acceptPlansQuery): only those written for it may follow.
func (t *Tx) ClaimsOf(keys []ClaimKey, locks ...LockKey) (map[ClaimKey]Claim, error) {
	out := make(map[ClaimKey]Claim, len(keys))
	if !t.pg {
		return out, t.sqliteClaimsOf(keys, out)
	}
	receivers, fps := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		receivers[i], fps[i] = k.Receiver, k.Fingerprint
	}
	b := &pgx.Batch{}
	b.Queue(acceptPlansQuery)
	ks, shared := t.toLock(locks)
	if len(ks) > 0 {
		b.Queue(lockQuery, ks, shared)
	}
	b.Queue(pgClaimsOfQuery, receivers, fps)
	// After the locks: a transaction that waited for another's gets later ids.
	readReserved := t.queueReserve(b)
	err := t.batch(b, func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("plans: %w", err)
		}
		if len(ks) > 0 {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
			t.holdLocks(ks, shared)
		}
		rows, err := br.Query()
		if err != nil {
			return fmt.Errorf("claims: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanClaim(rows.Scan)
			if err != nil {
				return err
			}
			out[ClaimKey{c.Receiver, c.Fingerprint}] = c
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("claims: %w", err)
		}
		t.notedClaims(out)
		// Under their locks, the keys not found stay absent until this transaction
		// writes them (accept is the only writer of claims rows).
		if len(locks) > 0 {
			if t.absent == nil {
				t.absent = map[ClaimKey]bool{}
			}
			for _, k := range keys {
				if _, ok := out[k]; !ok {
					t.absent[k] = true
				}
			}
		}
		return readReserved(br)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scanClaim reads a row of claimColumns: scan is the rows' Scan (database/sql's or pgx's).
func scanClaim(scan func(dest ...any) error) (Claim, error) {
	var c Claim
	var starts, notified int64
	var author, comment, source sql.NullString
	var ackedAt sql.NullInt64
	if err := scan(&c.Receiver, &c.Fingerprint, &c.Status, &starts, &notified, &c.NotificationID,
		&author, &ackedAt, &comment, &source); err != nil {
		return c, fmt.Errorf("claims: %w", err)
	}
	c.StartsAt, c.NotifiedAt = time.Unix(0, starts), time.UnixMilli(notified)
	if author.Valid {
		c.Ack = &Ack{Author: author.String, At: time.UnixMilli(ackedAt.Int64), Comment: comment.String, Source: source.String}
	}
	return c, nil
}

// sqliteClaimsOf is ClaimsOf on SQLite: one read of the alerts' claims, of which it keeps
// those asked for.
func (t *Tx) sqliteClaimsOf(keys []ClaimKey, out map[ClaimKey]Claim) error {
	wanted := make(map[ClaimKey]bool, len(keys))
	var fps []string
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		wanted[k] = true
		if !seen[k.Fingerprint] {
			seen[k.Fingerprint] = true
			fps = append(fps, k.Fingerprint)
		}
	}
	list, err := json.Marshal(fps)
	if err != nil {
		return fmt.Errorf("claims: %w", err)
	}
	rows, err := t.tx.StmtContext(t.ctx, t.stmts.claimsOf).QueryContext(t.ctx, string(list))
	if err != nil {
		return fmt.Errorf("claims: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanClaim(rows.Scan)
		if err != nil {
			return err
		}
		if k := (ClaimKey{c.Receiver, c.Fingerprint}); wanted[k] {
			out[k] = c
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("claims: %w", err)
	}
	return nil
}

const putClaimQuery = `INSERT INTO claims (receiver, fingerprint, status, starts_at, notified_at, notification_id)
	VALUES (?, ?, ?, ?, ?, ?)
	ON CONFLICT (receiver, fingerprint) DO UPDATE SET
		status = excluded.status, starts_at = excluded.starts_at,
		notified_at = excluded.notified_at, notification_id = excluded.notification_id`

// lastPerKey keeps the last claim of each (receiver, fingerprint), in order: one
// statement cannot update a row twice.
func lastPerKey(claims []NewClaim) []NewClaim {
	last := make(map[ClaimKey]int, len(claims))
	for i, c := range claims {
		last[ClaimKey{c.Receiver, c.Fingerprint}] = i
	}
	if len(last) == len(claims) {
		return claims
	}
	out := make([]NewClaim, 0, len(last))
	for i, c := range claims {
		if last[ClaimKey{c.Receiver, c.Fingerprint}] == i {
			out = append(out, c)
		}
	}
	return out
}

// AlertClaims are an alert's claims at every receiver: what each last claimed of it,
// for which episode, and the notification that carried it.
func (s *Store) AlertClaims(ctx context.Context, fingerprint string) ([]Claim, error) {
	defer s.reading()()
	rows, err := s.read.QueryContext(ctx, s.sql(`SELECT `+claimColumns+` FROM `+claimsWithAcks+`
		WHERE c.fingerprint = ? ORDER BY c.receiver`), fingerprint)
	if err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	defer rows.Close()
	var out []Claim
	for rows.Next() {
		c, err := scanClaim(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	return out, nil
}
