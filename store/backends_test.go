package store

import (
	"context"
	"testing"

	"github.com/alertrouter/alertrouter/internal/pgtest"
)

// The store's conformance suite: the tests that take an opener run against both backends,
// so that SQLite and PostgreSQL keep one behaviour behind one API. An opener opens the
// test's database, and opens it again after a Close (a restart).
type opener func(t *testing.T) *Store

func forEachBackend(t *testing.T, test func(t *testing.T, open opener)) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		test(t, func(t *testing.T) *Store { return openTest(t, dir) })
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.New(t)
		test(t, func(t *testing.T) *Store { return openPostgresTest(t, url) })
	})
}

// testReceivers are the receivers the conformance tests record outcomes for: on
// PostgreSQL an outcome needs the receiver's lease.
var testReceivers = []string{"r", "r1", "r2", "gone", "kept", "other"}

// openPostgresTest opens a replica that holds the test receivers' leases.
func openPostgresTest(t *testing.T, url string) *Store {
	t.Helper()
	s := openReplica(t, url)
	for _, r := range testReceivers {
		if held, err := s.Lease(context.Background(), ReceiverLease(r)); err != nil || !held {
			t.Fatalf("lease %s: %v, %v", r, held, err)
		}
	}
	return s
}

// openReplica opens one more replica on the database, holding no lease.
func openReplica(t *testing.T, url string) *Store {
	t.Helper()
	s, err := OpenPostgres(context.Background(), url)
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
