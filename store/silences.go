package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Silence is a silence made through alertrouter, and its copies on the Alertmanagers.
type Silence struct {
	ID int64
	// Matchers is their canonical text (sorted), as the Alertmanager's matcher parser
	// reads it: {alertname="GPUDown", hostgroup=~"gpu-.+"}.
	Matchers           string
	StartsAt, EndsAt   time.Time
	CreatedBy, Comment string
	CreatedAt          time.Time
	// UpdatedAt is the silence's version: a copy with an older one is behind.
	UpdatedAt time.Time
	// ExpiredAt is when somebody ended it early; zero otherwise.
	ExpiredAt time.Time
	Copies    []SilenceCopy
}

// Active reports whether s silences at t.
func (s *Silence) Active(t time.Time) bool { return s.EndsAt.After(t) }

// SilenceCopy is a silence on one Alertmanager.
type SilenceCopy struct {
	Alertmanager string
	// RemoteID is its id there; empty until it was created.
	RemoteID string
	// Synced says the Alertmanager has the silence's current version.
	Synced        bool
	Attempts      int
	LastError     string
	NextAttemptAt time.Time
}

// ErrNoSilence means there is no such silence, or it has ended.
var ErrNoSilence = errors.New("no such active silence")

// AddSilence stores s with a copy due now for each of alertmanagers, and returns it as
// stored. The same matchers as an active silence extend that one instead (its end moves
// later, never earlier; a comment given replaces its comment): extended says so.
func (s *Store) AddSilence(ctx context.Context, sil Silence, alertmanagers []string, now time.Time) (stored Silence, extended bool, err error) {
	err = s.Update(ctx, func(t *Tx) error {
		// Replicas adding the same matchers at once must find each other's silence.
		if err := t.Lock(silenceLock(sil.Matchers)); err != nil {
			return err
		}
		ms := now.UnixMilli()
		var id, ends int64
		err := t.queryRow(`SELECT id, ends_at FROM silences WHERE matchers = ? AND ends_at > ? ORDER BY id DESC LIMIT 1`,
			sil.Matchers, ms).Scan(&id, &ends)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if err := t.queryRow(`INSERT INTO silences (matchers, starts_at, ends_at, created_by, comment, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, sil.Matchers, sil.StartsAt.UnixMilli(), sil.EndsAt.UnixMilli(),
				sil.CreatedBy, sil.Comment, ms, ms).Scan(&id); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			extended = true
			if _, err := t.exec(`UPDATE silences SET ends_at = ?, comment = CASE WHEN ? = '' THEN comment ELSE ? END, updated_at = ?
				WHERE id = ?`, max(ends, sil.EndsAt.UnixMilli()), sil.Comment, sil.Comment, ms, id); err != nil {
				return err
			}
		}
		if err := t.dueCopies(id, alertmanagers, ms); err != nil {
			return err
		}
		stored, err = t.silence(id)
		return err
	})
	if err != nil {
		return Silence{}, false, fmt.Errorf("add silence: %w", err)
	}
	return stored, extended, nil
}

// silenceLock is the key of the silences with these matchers: adding, extending and
// expiring them one at a time.
func silenceLock(matchers string) LockKey {
	return LockKey{class: silenceClass, key: lockKey("silence", matchers, "")}
}

// dueCopies makes silence id's copies on alertmanagers due at ms, adding the missing ones.
func (t *Tx) dueCopies(id int64, alertmanagers []string, ms int64) error {
	for _, am := range alertmanagers {
		if _, err := t.exec(`INSERT INTO silence_copies (silence_id, alertmanager, next_attempt_at) VALUES (?, ?, ?)
			ON CONFLICT (silence_id, alertmanager) DO UPDATE SET next_attempt_at = excluded.next_attempt_at, attempts = 0`,
			id, am, ms); err != nil {
			return err
		}
	}
	return nil
}

// ExpireSilence ends silence id now, on every Alertmanager that has it.
func (s *Store) ExpireSilence(ctx context.Context, id int64, now time.Time) (Silence, error) {
	var out Silence
	err := s.Update(ctx, func(t *Tx) error {
		// The matchers' lock, as AddSilence takes it: an extension read before this
		// expiry must not write its end over it.
		var matchers string
		switch err := t.queryRow(`SELECT matchers FROM silences WHERE id = ?`, id).Scan(&matchers); {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNoSilence
		case err != nil:
			return err
		}
		if err := t.Lock(silenceLock(matchers)); err != nil {
			return err
		}
		ms := now.UnixMilli()
		res, err := t.exec(`UPDATE silences SET ends_at = ?1, expired_at = ?1, updated_at = ?1 WHERE id = ?2 AND ends_at > ?1`, ms, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNoSilence
		}
		if _, err := t.exec(`UPDATE silence_copies SET next_attempt_at = ?, attempts = 0 WHERE silence_id = ?`, ms, id); err != nil {
			return err
		}
		out, err = t.silence(id)
		return err
	})
	if err != nil {
		return Silence{}, fmt.Errorf("expire silence %d: %w", id, err)
	}
	return out, nil
}

const silenceColumns = `id, matchers, starts_at, ends_at, created_by, comment, created_at, updated_at, expired_at`

// silenceRow is a row of silenceColumns as it is scanned.
type silenceRow struct {
	sil                            Silence
	starts, ends, created, updated int64
	expired                        sql.NullInt64
}

func (r *silenceRow) dest() []any {
	return []any{&r.sil.ID, &r.sil.Matchers, &r.starts, &r.ends, &r.sil.CreatedBy, &r.sil.Comment, &r.created, &r.updated, &r.expired}
}

func (r *silenceRow) value() Silence {
	sil := r.sil
	sil.StartsAt, sil.EndsAt = time.UnixMilli(r.starts), time.UnixMilli(r.ends)
	sil.CreatedAt, sil.UpdatedAt = time.UnixMilli(r.created), time.UnixMilli(r.updated)
	if r.expired.Valid {
		sil.ExpiredAt = time.UnixMilli(r.expired.Int64)
	}
	return sil
}

func scanSilence(scan func(dest ...any) error) (Silence, error) {
	var r silenceRow
	err := scan(r.dest()...)
	return r.value(), err
}

// silence reads silence id with its copies.
func (t *Tx) silence(id int64) (Silence, error) {
	sil, err := scanSilence(t.queryRow(`SELECT `+silenceColumns+` FROM silences WHERE id = ?`, id).Scan)
	if err != nil {
		return sil, err
	}
	rows, err := t.query(`SELECT `+copyColumns+` FROM silence_copies c JOIN silences s ON s.id = c.silence_id
		WHERE c.silence_id = ? ORDER BY c.alertmanager`, id)
	if err != nil {
		return sil, err
	}
	defer rows.Close()
	for rows.Next() {
		_, c, err := scanCopy(rows.Scan)
		if err != nil {
			return sil, err
		}
		sil.Copies = append(sil.Copies, c)
	}
	return sil, rows.Err()
}

const copyColumns = `c.silence_id, c.alertmanager, c.remote_id, c.version = s.updated_at, c.attempts, c.last_error, c.next_attempt_at`

// copyRow is a row of copyColumns as it is scanned: the silence's id, and the copy.
type copyRow struct {
	silenceID, next int64
	c               SilenceCopy
}

func (r *copyRow) dest() []any {
	return []any{&r.silenceID, &r.c.Alertmanager, &r.c.RemoteID, &r.c.Synced, &r.c.Attempts, &r.c.LastError, &r.next}
}

func (r *copyRow) value() SilenceCopy {
	c := r.c
	c.NextAttemptAt = time.UnixMilli(r.next)
	return c
}

func scanCopy(scan func(dest ...any) error) (int64, SilenceCopy, error) {
	var r copyRow
	err := scan(r.dest()...)
	return r.silenceID, r.value(), err
}

// Silences lists the silences that are active, or ended since since, newest first, with
// their copies.
func (s *Store) Silences(ctx context.Context, since time.Time) ([]Silence, error) {
	defer s.reading()()
	rows, err := s.read.QueryContext(ctx, s.sql(`SELECT `+silenceColumns+` FROM silences WHERE ends_at >= ? ORDER BY id DESC`), since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("silences: %w", err)
	}
	var out []Silence
	index := map[int64]int{}
	for rows.Next() {
		sil, err := scanSilence(rows.Scan)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("silences: %w", err)
		}
		index[sil.ID] = len(out)
		out = append(out, sil)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("silences: %w", err)
	}
	rows, err = s.read.QueryContext(ctx, s.sql(`SELECT `+copyColumns+` FROM silence_copies c JOIN silences s ON s.id = c.silence_id
		WHERE s.ends_at >= ? ORDER BY c.alertmanager`), since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("silences: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		id, c, err := scanCopy(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("silences: %w", err)
		}
		if i, ok := index[id]; ok {
			out[i].Copies = append(out[i].Copies, c)
		}
	}
	return out, rows.Err()
}

// CopyTask is a copy to bring in line: the silence as it is now, and the copy.
type CopyTask struct {
	Silence Silence
	Copy    SilenceCopy
}

// DueCopies are the copies whose next attempt (a sync, a retry or a check) is due, at
// most limit, the most overdue first.
func (s *Store) DueCopies(ctx context.Context, now time.Time, limit int) ([]CopyTask, error) {
	defer s.reading()()
	rows, err := s.read.QueryContext(ctx, s.sql(`SELECT `+copyColumns+`, `+silenceColumns+`
		FROM silence_copies c JOIN silences s ON s.id = c.silence_id
		WHERE c.next_attempt_at <= ? ORDER BY c.next_attempt_at LIMIT ?`), now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("due silence copies: %w", err)
	}
	defer rows.Close()
	var out []CopyTask
	for rows.Next() {
		var c copyRow
		var sil silenceRow
		if err := rows.Scan(append(c.dest(), sil.dest()...)...); err != nil {
			return nil, fmt.Errorf("due silence copies: %w", err)
		}
		out = append(out, CopyTask{Silence: sil.value(), Copy: c.value()})
	}
	return out, rows.Err()
}

// CopySynced records that alertmanager has version (a silence's UpdatedAt) of silence id,
// as remoteID, and when to look again (zero: never, it has ended there). If the silence
// changed meanwhile (extended or expired while the copy was being made), the copy stays
// due: it is behind.
func (s *Store) CopySynced(ctx context.Context, id int64, alertmanager, remoteID string, version, next time.Time) error {
	nextMs := int64(1) << 62 // never
	if !next.IsZero() {
		nextMs = next.UnixMilli()
	}
	return s.Update(ctx, func(t *Tx) error {
		_, err := t.exec(`UPDATE silence_copies SET remote_id = ?1, version = ?2, attempts = 0, last_error = '',
			next_attempt_at = CASE WHEN ?2 = (SELECT updated_at FROM silences WHERE id = ?4) THEN ?3 ELSE next_attempt_at END
			WHERE silence_id = ?4 AND alertmanager = ?5`, remoteID, version.UnixMilli(), nextMs, id, alertmanager)
		return err
	})
}

// CopyFailed records a failed attempt at a copy, and when to try again.
func (s *Store) CopyFailed(ctx context.Context, id int64, alertmanager, problem string, next time.Time) error {
	return s.Update(ctx, func(t *Tx) error {
		_, err := t.exec(`UPDATE silence_copies SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?
			WHERE silence_id = ? AND alertmanager = ?`, problem, next.UnixMilli(), id, alertmanager)
		return err
	})
}

// CopyLost records that alertmanager lost its copy (it restarted without its storage):
// the copy is made again, now.
func (s *Store) CopyLost(ctx context.Context, id int64, alertmanager string, now time.Time) error {
	return s.Update(ctx, func(t *Tx) error {
		_, err := t.exec(`UPDATE silence_copies SET remote_id = '', version = 0, next_attempt_at = ?
			WHERE silence_id = ? AND alertmanager = ?`, now.UnixMilli(), id, alertmanager)
		return err
	})
}

// EnsureCopies gives every active silence a copy due now on each of alertmanagers that it
// lacks one on (an Alertmanager added to the config).
func (s *Store) EnsureCopies(ctx context.Context, alertmanagers []string, now time.Time) error {
	return s.Update(ctx, func(t *Tx) error {
		for _, am := range alertmanagers {
			if _, err := t.exec(`INSERT INTO silence_copies (silence_id, alertmanager, next_attempt_at)
				SELECT id, ?1, ?2 FROM silences WHERE ends_at > ?2
				ON CONFLICT (silence_id, alertmanager) DO NOTHING`, am, now.UnixMilli()); err != nil {
				return err
			}
		}
		return nil
	})
}

// SilencesBehind counts, per Alertmanager, the active silences that it does not have as
// they are now: not made there yet, behind an extension, or failing.
func (s *Store) SilencesBehind(ctx context.Context, now time.Time) (map[string]int, error) {
	defer s.reading()()
	rows, err := s.read.QueryContext(ctx, s.sql(`SELECT c.alertmanager, COUNT(*) FROM silence_copies c JOIN silences s ON s.id = c.silence_id
		WHERE s.ends_at > ? AND (c.remote_id = '' OR c.version <> s.updated_at OR c.attempts > 0) GROUP BY c.alertmanager`), now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("silences behind: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var am string
		var n int
		if err := rows.Scan(&am, &n); err != nil {
			return nil, fmt.Errorf("silences behind: %w", err)
		}
		out[am] = n
	}
	return out, rows.Err()
}

// EndedSilences are the silences that ended by now and whose notice is not out yet.
func (s *Store) EndedSilences(ctx context.Context, now time.Time) ([]Silence, error) {
	defer s.reading()()
	rows, err := s.read.QueryContext(ctx, s.sql(`SELECT `+silenceColumns+` FROM silences WHERE ends_at <= ? AND noticed = 0 ORDER BY id`), now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("ended silences: %w", err)
	}
	defer rows.Close()
	var out []Silence
	for rows.Next() {
		sil, err := scanSilence(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("ended silences: %w", err)
		}
		out = append(out, sil)
	}
	return out, rows.Err()
}

// MarkNoticed records, in the transaction that enqueues it, that silence id's notice is
// out: false when another replica was first (and the caller's transaction should undo).
func (t *Tx) MarkNoticed(id int64) (bool, error) {
	res, err := t.exec(`UPDATE silences SET noticed = 1 WHERE id = ? AND noticed = 0`, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
