package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
)

// Key is the server's secret called name: 32 random bytes, made the first time it is
// asked for and kept (replicas share it).
func (s *Store) Key(ctx context.Context, name string, now time.Time) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	var value string
	err := s.Update(ctx, func(t *Tx) error {
		if _, err := t.exec(`INSERT INTO keys (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
			name, hex.EncodeToString(fresh), now.UnixMilli()); err != nil {
			return err
		}
		return t.queryRow(`SELECT value FROM keys WHERE name = ?`, name).Scan(&value)
	})
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", name, err)
	}
	return hex.DecodeString(value)
}
