// Package store owns everything SQL: opening the database with the right settings,
// migrations, dedupe claims, the outbox, the notification history, the watchdog's state
// and, on PostgreSQL, the locks and leases that let replicas share one database. It is
// the only package that writes SQL.
//
// There are two backends behind the one API: an embedded SQLite file (the default: one
// alertrouter, one file; sqlite.go) and PostgreSQL (replicated mode: any number of
// alertrouters on one database; postgres.go). Each has its own migrations
// (migrations/sqlite, migrations/postgres) with the same version numbers.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/pressly/goose/v3"
)

// ErrTooNew means the database was migrated by a newer alertrouter than this one.
var ErrTooNew = errors.New("database schema is newer than this binary")

// Store is an open alertrouter database.
//
// On SQLite every write goes through one writer goroutine on one connection, which
// group-commits whatever is waiting (writer.go): SQLite has one writer anyway, and this
// turns a burst of webhooks into a few commits instead of a queue of SQLITE_BUSY retries.
// Reads use their own pool, so the dispatcher, the API and readiness checks never wait
// behind writes. On PostgreSQL each Update is its own transaction on a pool, and the
// decisions that must not race take advisory locks (Tx.Lock).
type Store struct {
	write *sql.DB
	read  *sql.DB
	// where names the database in messages: the SQLite file, or the PostgreSQL URL
	// without its password.
	where string
	// pg is the PostgreSQL backend; nil on SQLite.
	pg *postgres

	// SQLite only: the writer's hot-path statements, the group-commit writer
	// (writer.go), its checkpointer, the storage lock (lock.go) and write health
	// (health.go).
	stmts            statements
	checkpoint       *sql.DB
	ops              chan *writeOp
	closing          chan struct{}
	writerDone       chan struct{}
	checkpointerDone chan struct{}
	lock             *os.File
	// dbFile is the database file, open only for the checkpointer to start its writeback
	// (writer.go). It is closed after every connection: closing any descriptor of a file
	// drops all the POSIX locks this process holds on it, SQLite's included.
	dbFile  *os.File
	failure atomic.Pointer[writeFailure]
	// restartWanted asks the writer to start the WAL over; gate holds reads off while it
	// does (writer.go, restartWAL).
	restartWanted atomic.Bool
	gate          sync.RWMutex

	closeOnce sync.Once
}

// Update runs fn in a write transaction and returns once its writes are committed (nil)
// or rolled back (the error). See updateSQLite and postgres.update for how each backend
// runs it.
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) error {
	if s.pg != nil {
		return s.pg.update(ctx, fn)
	}
	return s.updateSQLite(ctx, fn)
}

// Ping reports whether the database answers and takes writes.
func (s *Store) Ping(ctx context.Context) error {
	if s.pg != nil {
		return s.pg.ping(ctx)
	}
	return s.pingSQLite(ctx)
}

// migrate refuses a database from a newer binary before touching it, then applies
// every pending migration.
func migrate(ctx context.Context, p *goose.Provider, where string) error {
	current, latest, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if current > latest {
		return fmt.Errorf("migrate %s: %w (database version %d, this binary knows up to %d): upgrade alertrouter or restore a backup",
			where, ErrTooNew, current, latest)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// migrations is the goose provider of the store's backend.
func (s *Store) migrations() (*goose.Provider, error) {
	if s.pg != nil {
		return s.pg.migrations()
	}
	return s.sqliteMigrations()
}

// SchemaVersion reports the database's migration version and the newest one this binary knows.
func (s *Store) SchemaVersion(ctx context.Context) (current, latest int64, err error) {
	p, err := s.migrations()
	if err != nil {
		return 0, 0, err
	}
	return p.GetVersions(ctx)
}

// Where names the database: the SQLite file, or the PostgreSQL URL without its password.
func (s *Store) Where() string { return s.where }

// Replicated reports whether the store is shared by replicas (PostgreSQL).
func (s *Store) Replicated() bool { return s.pg != nil }

// Close stops the store's work in flight (on SQLite, after the batch the writer is
// committing) and closes the database. Writes after Close return ErrClosed. Close may be
// called more than once.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.pg != nil {
			err = s.pg.close()
			return
		}
		close(s.closing)
		<-s.writerDone
		<-s.checkpointerDone
		err = s.closeDBs()
	})
	return err
}
