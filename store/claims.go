package store

import (
	"context"
	"fmt"
	"strings"
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

// Claims loads the claims of one receiver for the given fingerprints, keyed by fingerprint.
func (t *Tx) Claims(ctx context.Context, receiver string, fingerprints []string) (map[string]Claim, error) {
	out := make(map[string]Claim, len(fingerprints))
	// SQLite allows 32766 parameters; stay far below in chunks.
	const chunk = 500
	for len(fingerprints) > 0 {
		n := min(chunk, len(fingerprints))
		part := fingerprints[:n]
		fingerprints = fingerprints[n:]
		args := make([]any, 0, n+1)
		args = append(args, receiver)
		for _, fp := range part {
			args = append(args, fp)
		}
		rows, err := t.tx.QueryContext(ctx, `SELECT fingerprint, status, starts_at, notified_at, notification_id
			FROM claims WHERE receiver = ? AND fingerprint IN (?`+strings.Repeat(",?", n-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("claims: %w", err)
		}
		for rows.Next() {
			c := Claim{Receiver: receiver}
			var starts, notified int64
			if err := rows.Scan(&c.Fingerprint, &c.Status, &starts, &notified, &c.NotificationID); err != nil {
				rows.Close()
				return nil, fmt.Errorf("claims: %w", err)
			}
			c.StartsAt, c.NotifiedAt = time.Unix(0, starts), time.UnixMilli(notified)
			out[c.Fingerprint] = c
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("claims: %w", err)
		}
	}
	return out, nil
}

// PutClaim writes a claim, replacing the receiver's previous claim for the fingerprint.
func (t *Tx) PutClaim(ctx context.Context, c Claim) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO claims (receiver, fingerprint, status, starts_at, notified_at, notification_id)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (receiver, fingerprint) DO UPDATE SET
			status = excluded.status, starts_at = excluded.starts_at,
			notified_at = excluded.notified_at, notification_id = excluded.notification_id`,
		c.Receiver, c.Fingerprint, c.Status, c.StartsAt.UnixNano(), c.NotifiedAt.UnixMilli(), c.NotificationID)
	if err != nil {
		return fmt.Errorf("put claim: %w", err)
	}
	return nil
}
