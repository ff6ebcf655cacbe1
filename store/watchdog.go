package store

import (
	"context"
	"fmt"
	"time"
)

// PutWatchdogState replaces the watchdog's state document for key.
func (t *Tx) PutWatchdogState(key string, state []byte, now time.Time) error {
	_, err := t.exec(`INSERT INTO watchdog_state (key, state, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
		key, state, now.UnixMilli())
	if err != nil {
		return fmt.Errorf("put watchdog state: %w", err)
	}
	return nil
}

// WatchdogStates returns every watchdog state document, by key.
func (s *Store) WatchdogStates(ctx context.Context) (map[string][]byte, error) {
	defer s.reading()()
	rows, err := s.read.QueryContext(ctx, `SELECT key, state FROM watchdog_state`)
	if err != nil {
		return nil, fmt.Errorf("watchdog states: %w", err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var key string
		var state []byte
		if err := rows.Scan(&key, &state); err != nil {
			return nil, fmt.Errorf("watchdog states: %w", err)
		}
		out[key] = state
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("watchdog states: %w", err)
	}
	return out, nil
}

// TouchHeartbeat records that source sent a heartbeat at at; an older time never
// replaces a newer one.
func (t *Tx) TouchHeartbeat(source string, at time.Time) error {
	_, err := t.exec(`INSERT INTO heartbeats (source, last_seen) VALUES (?, ?)
		ON CONFLICT (source) DO UPDATE SET last_seen = CASE WHEN excluded.last_seen > heartbeats.last_seen
			THEN excluded.last_seen ELSE heartbeats.last_seen END`,
		source, at.UnixMilli())
	if err != nil {
		return fmt.Errorf("touch heartbeat: %w", err)
	}
	return nil
}

// Heartbeats returns when each source last sent a heartbeat.
func (s *Store) Heartbeats(ctx context.Context) (map[string]time.Time, error) {
	defer s.reading()()
	rows, err := s.read.QueryContext(ctx, `SELECT source, last_seen FROM heartbeats`)
	if err != nil {
		return nil, fmt.Errorf("heartbeats: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var source string
		var ms int64
		if err := rows.Scan(&source, &ms); err != nil {
			return nil, fmt.Errorf("heartbeats: %w", err)
		}
		out[source] = time.UnixMilli(ms)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("heartbeats: %w", err)
	}
	return out, nil
}
