package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Ack is an acknowledgement of an alert episode: who has it, since when, why, and through
// what (console, api, cli, or a message's link).
type Ack struct {
	Author  string    `json:"author"`
	At      time.Time `json:"at"`
	Comment string    `json:"comment,omitempty"`
	Source  string    `json:"source"`
}

// ErrNotFiring means an alert has no firing episode to acknowledge: it resolved, or no
// receiver got it (within global.retention).
var ErrNotFiring = errors.New("not firing")

// Acknowledge acknowledges the firing episode of the alert with fingerprint, at every
// receiver: no repeat notification goes out for it until it resolves or a new episode
// starts. The episode is the one that starts at episode (ErrNotFiring if it is not firing
// any more), or, when episode is zero, the latest firing one. It returns the episode's
// start and the acknowledgement on record: a, or an earlier one (first is false) when
// somebody was first, which is kept.
func (s *Store) Acknowledge(ctx context.Context, fingerprint string, episode time.Time, a Ack) (startsAt time.Time, kept Ack, first bool, err error) {
	var want int64 // any
	if !episode.IsZero() {
		want = ClaimTime(episode).UnixNano()
	}
	err = s.Update(ctx, func(t *Tx) error {
		var latest sql.NullInt64
		if err := t.queryRow(`SELECT MAX(starts_at) FROM claims WHERE fingerprint = ?1 AND status = 'firing' AND (CAST(?2 AS BIGINT) = 0 OR starts_at = ?2)`,
			fingerprint, want).Scan(&latest); err != nil {
			return err
		}
		if !latest.Valid {
			return ErrNotFiring
		}
		starts := latest.Int64
		res, err := t.exec(`INSERT INTO acks (fingerprint, starts_at, author, at, comment, source) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (fingerprint, starts_at) DO NOTHING`, fingerprint, starts, a.Author, a.At.UnixMilli(), a.Comment, a.Source)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		first = n == 1
		var at int64
		if err := t.queryRow(`SELECT author, at, comment, source FROM acks WHERE fingerprint = ? AND starts_at = ?`, fingerprint, starts).
			Scan(&kept.Author, &at, &kept.Comment, &kept.Source); err != nil {
			return err
		}
		kept.At, startsAt = time.UnixMilli(at), time.Unix(0, starts)
		return nil
	})
	if err != nil {
		return time.Time{}, Ack{}, false, fmt.Errorf("acknowledge %s: %w", fingerprint, err)
	}
	return startsAt, kept, first, nil
}

// FiringClaim is an alert firing at some receiver: its episode and the notification that
// last carried it, to find it by its labels.
type FiringClaim struct {
	Fingerprint    string
	StartsAt       time.Time
	NotificationID int64
}

// Firing lists the alerts whose last claim at some receiver is firing, one each (its
// latest episode), at most limit.
func (s *Store) Firing(ctx context.Context, limit int) ([]FiringClaim, error) {
	defer s.reading()()
	rows, err := s.read.QueryContext(ctx, s.sql(`SELECT fingerprint, MAX(starts_at), MAX(notification_id) FROM claims
		WHERE status = 'firing' GROUP BY fingerprint LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("firing: %w", err)
	}
	defer rows.Close()
	var out []FiringClaim
	for rows.Next() {
		var f FiringClaim
		var starts int64
		if err := rows.Scan(&f.Fingerprint, &starts, &f.NotificationID); err != nil {
			return nil, fmt.Errorf("firing: %w", err)
		}
		f.StartsAt = time.Unix(0, starts)
		out = append(out, f)
	}
	return out, rows.Err()
}

// encodeAcks is how a notification stores the acknowledgements it reports: JSON, or NULL
// for none.
func encodeAcks(acks map[string]Ack) (*string, error) {
	if len(acks) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(acks)
	if err != nil {
		return nil, err
	}
	s := string(b)
	return &s, nil
}

func decodeAcks(v sql.NullString) (map[string]Ack, error) {
	if !v.Valid {
		return nil, nil
	}
	var acks map[string]Ack
	if err := json.Unmarshal([]byte(v.String), &acks); err != nil {
		return nil, fmt.Errorf("acks: %w", err)
	}
	return acks, nil
}
