package store

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
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

const claimsQuery = `SELECT fingerprint, status, starts_at, notified_at, notification_id
	FROM claims WHERE receiver = ? AND fingerprint IN (SELECT value FROM json_each(?))`

// Claims loads the claims of one receiver for the given fingerprints, keyed by fingerprint.
func (t *Tx) Claims(receiver string, fingerprints []string) (map[string]Claim, error) {
	fps, err := json.Marshal(fingerprints)
	if err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	rows, err := t.tx.StmtContext(t.ctx, t.stmts.claims).QueryContext(t.ctx, receiver, string(fps))
	if err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	defer rows.Close()
	out := make(map[string]Claim, len(fingerprints))
	for rows.Next() {
		c := Claim{Receiver: receiver}
		var starts, notified int64
		if err := rows.Scan(&c.Fingerprint, &c.Status, &starts, &notified, &c.NotificationID); err != nil {
			return nil, fmt.Errorf("claims: %w", err)
		}
		c.StartsAt, c.NotifiedAt = time.Unix(0, starts), time.UnixMilli(notified)
		out[c.Fingerprint] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	return out, nil
}

const putClaimQuery = `INSERT INTO claims (receiver, fingerprint, status, starts_at, notified_at, notification_id)
	VALUES (?, ?, ?, ?, ?, ?)
	ON CONFLICT (receiver, fingerprint) DO UPDATE SET
		status = excluded.status, starts_at = excluded.starts_at,
		notified_at = excluded.notified_at, notification_id = excluded.notification_id`

// PutClaim writes a claim, replacing the receiver's previous claim for the fingerprint.
func (t *Tx) PutClaim(c Claim) error {
	_, err := t.tx.StmtContext(t.ctx, t.stmts.putClaim).ExecContext(t.ctx,
		c.Receiver, c.Fingerprint, c.Status, ClaimTime(c.StartsAt).UnixNano(), c.NotifiedAt.UnixMilli(), c.NotificationID)
	if err != nil {
		return fmt.Errorf("put claim: %w", err)
	}
	return nil
}
