package store

import (
	"context"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// writeFailure is what made the last write transaction fail as a whole, kept until a
// later one commits changes. Readiness reports it: a full disk still answers reads, but
// every webhook gets 503.
type writeFailure struct{ err error }

// storageFailure reports whether err means the database cannot take writes at all: the
// disk is full, or the file cannot be written.
func storageFailure(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff { // the primary code, without the extended bits
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN:
		return true
	}
	return false
}

// noteBatch records the outcome of a write batch for readiness: a failure of the whole
// transaction, or of an operation because of the storage, marks the store as failing;
// a commit that changed rows clears it. Commits that change nothing prove nothing: on a
// full disk they still succeed.
func (s *Store) noteBatch(results []error, batchErr error, changed bool) {
	if batchErr != nil {
		s.failure.Store(&writeFailure{batchErr})
		return
	}
	for _, err := range results {
		if err != nil && storageFailure(err) {
			s.failure.Store(&writeFailure{err})
			return
		}
	}
	if changed {
		s.failure.Store(nil)
	}
}

// pingSQLite reports whether the database answers a query and takes writes: it fails
// while write transactions fail, until one commits again.
func (s *Store) pingSQLite(ctx context.Context) error {
	defer s.reading()()
	if f := s.failure.Load(); f != nil {
		return fmt.Errorf("writes are failing: %w", f.err)
	}
	var one int
	return s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}
