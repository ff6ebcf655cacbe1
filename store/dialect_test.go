package store

import "testing"

func TestRebind(t *testing.T) {
	for in, want := range map[string]string{
		`SELECT a FROM t WHERE b = ? AND c = ?`:        `SELECT a FROM t WHERE b = $1 AND c = $2`,
		`VALUES (?1, ?2, ?1)`:                          `VALUES ($1, $2, $1)`,
		`WHERE state = 'pending?' AND id = ?`:          `WHERE state = 'pending?' AND id = $1`,
		`UPDATE x SET y = ?1 WHERE id > ?2 AND z < ?1`: `UPDATE x SET y = $1 WHERE id > $2 AND z < $1`,
	} {
		if got := rebind(in); got != want {
			t.Errorf("rebind(%q) = %q, want %q", in, got, want)
		}
	}
}
