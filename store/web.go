package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Session is a console login.
type Session struct {
	// IDHash is the SHA-256 of the cookie's session id, hex: the id itself is never stored.
	IDHash    string
	User      string
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// CreateSession stores a new login.
func (s *Store) CreateSession(ctx context.Context, ss Session) error {
	err := s.Update(ctx, func(t *Tx) error {
		_, err := t.exec(`INSERT INTO sessions (id_hash, username, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			ss.IDHash, ss.User, ss.CSRF, ss.CreatedAt.UnixMilli(), ss.ExpiresAt.UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// Session returns the login of idHash, if it exists and has not ended at now.
func (s *Store) Session(ctx context.Context, idHash string, now time.Time) (Session, bool, error) {
	defer s.reading()()
	ss := Session{IDHash: idHash}
	var created, expires int64
	err := s.read.QueryRowContext(ctx, s.sql(`SELECT username, csrf, created_at, expires_at FROM sessions
		WHERE id_hash = ? AND expires_at > ?`), idHash, now.UnixMilli()).Scan(&ss.User, &ss.CSRF, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, false, nil
	}
	if err != nil {
		return Session{}, false, fmt.Errorf("session: %w", err)
	}
	ss.CreatedAt, ss.ExpiresAt = time.UnixMilli(created), time.UnixMilli(expires)
	return ss, true, nil
}

// DeleteSession ends a login (logout).
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	err := s.Update(ctx, func(t *Tx) error {
		_, err := t.exec(`DELETE FROM sessions WHERE id_hash = ?`, idHash)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// Audit is one action taken through the console or the API.
type Audit struct {
	ID     int64
	At     time.Time
	Actor  string // the user or API token
	Role   string
	Source string // the client address
	Action string // e.g. notification.retry
	Target string // e.g. notification 42
	Result string // "ok", or what went wrong
}

// RecordAudit stores an action in the audit log.
func (s *Store) RecordAudit(ctx context.Context, a Audit) error {
	err := s.Update(ctx, func(t *Tx) error {
		_, err := t.exec(`INSERT INTO audit (at, actor, role, source, action, target, result) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			a.At.UnixMilli(), a.Actor, a.Role, a.Source, a.Action, a.Target, a.Result)
		return err
	})
	if err != nil {
		return fmt.Errorf("record audit: %w", err)
	}
	return nil
}

// AuditLog returns up to limit entries of the audit log, newest first, older than the
// entry before (0 for the newest): pages by id, fast however long the log.
func (s *Store) AuditLog(ctx context.Context, before int64, limit int) ([]Audit, error) {
	defer s.reading()()
	q, args := `SELECT id, at, actor, role, source, action, target, result FROM audit`, []any{}
	if before > 0 {
		q += ` WHERE id < ?`
		args = append(args, before)
	}
	args = append(args, limit)
	rows, err := s.read.QueryContext(ctx, s.sql(q+` ORDER BY id DESC LIMIT ?`), args...)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer rows.Close()
	var out []Audit
	for rows.Next() {
		var a Audit
		var at int64
		if err := rows.Scan(&a.ID, &at, &a.Actor, &a.Role, &a.Source, &a.Action, &a.Target, &a.Result); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		a.At = time.UnixMilli(at)
		out = append(out, a)
	}
	return out, rows.Err()
}
