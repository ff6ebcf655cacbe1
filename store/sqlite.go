package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/alertrouter/alertrouter/migrations"
)

// FileName is the database file inside the storage directory.
const FileName = "alertrouter.db"

// walSizeLimit is the size the WAL is truncated to after a checkpoint (journal_size_limit).
// Truncating is what a commit waited for longest (30 ms, under a storm, against 2-3 ms for
// the fsyncs): a WAL that a storm grew past 8 MiB was cut back at nearly every checkpoint.
// At 64 MiB it rarely is, and half-load p99 fell from 47-67 ms to 15-17 ms.
const walSizeLimit = 64 << 20

// Open opens (creating if needed) the SQLite database in dir, refuses a schema newer than
// this binary, and applies pending migrations. It takes the storage directory's lock
// first: a second process on the same directory gets ErrInUse.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{where: filepath.Join(dir, FileName), lock: lock}
	if err := s.open(ctx); err != nil {
		s.closeDBs()
		return nil, err
	}
	s.ops, s.closing = make(chan *writeOp), make(chan struct{})
	s.writerDone, s.checkpointerDone = make(chan struct{}), make(chan struct{})
	go s.writer()
	go s.checkpointer()
	return s, nil
}

// open opens the connections and migrates.
func (s *Store) open(ctx context.Context) (err error) {
	if s.write, err = openDB(s.where, writerConn); err != nil {
		return err
	}
	s.write.SetMaxOpenConns(1)
	if err := s.checkWAL(ctx); err != nil {
		return err
	}
	p, err := s.sqliteMigrations()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := migrate(ctx, p, s.where); err != nil {
		return err
	}
	if err := s.prepare(ctx); err != nil {
		return err
	}
	if s.read, err = openDB(s.where, readerConn); err != nil {
		return err
	}
	s.read.SetMaxOpenConns(4)
	if s.checkpoint, err = openDB(s.where, writerConn); err != nil {
		return err
	}
	s.checkpoint.SetMaxOpenConns(1)
	if s.dbFile, err = os.Open(s.where); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	return nil
}

func (s *Store) sqliteMigrations() (*goose.Provider, error) {
	return goose.NewProvider(goose.DialectSQLite3, s.write, migrations.SQLite, goose.WithDisableGlobalRegistry(true))
}

func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&s.stmts.claimsOf, claimsOfQuery},
		{&s.stmts.putClaim, putClaimQuery},
		{&s.stmts.enqueue, enqueueQuery},
		{&s.stmts.putBatch, putBatchQuery},
		{&s.stmts.markSent, markSentQuery},
		{&s.stmts.putSuppression, putSuppressionQuery},
	} {
		st, err := s.write.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("open store: prepare: %w", err)
		}
		*p.stmt = st
	}
	return nil
}

// closeDBs closes whatever is open, the lock last.
func (s *Store) closeDBs() error {
	var errs []error
	for _, db := range []*sql.DB{s.read, s.checkpoint, s.write} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	if s.dbFile != nil { // after the connections: see Store.dbFile
		errs = append(errs, s.dbFile.Close())
	}
	if s.lock != nil {
		errs = append(errs, s.lock.Close()) // closing the file drops the flock
	}
	return errors.Join(errs...)
}

// The kinds of connection the store opens.
type connRole int

const (
	writerConn connRole = iota // the writer and the checkpointer
	readerConn                 // the read pool: read-only
	backupConn                 // Backup's: reads, and writes only the copy
)

func openDB(path string, role connRole) (*sql.DB, error) {
	// The driver runs the _pragma values busy_timeout first, then in alphabetical order,
	// not in the order given: one that must come before journal_mode (page_size, which
	// the switch to WAL fixes on a new file) cannot be set here.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// Savepoints (group commit) and statement journals stay in memory, not in temp files.
	q.Add("_pragma", "temp_store(MEMORY)")
	switch role {
	case writerConn:
		// Take the write lock at BEGIN: a deferred transaction that reads and then
		// writes can fail with SQLITE_BUSY_SNAPSHOT, which busy_timeout cannot fix.
		q.Set("_txlock", "immediate")
		// The checkpointer keeps the WAL short; this only guards against it stalling.
		q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", safetyCheckpointPages))
		// A burst (or a full disk that made commits fail and pile up) can grow the WAL;
		// without a limit the file keeps that size for good after it is checkpointed.
		q.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", walSizeLimit))
	case readerConn:
		q.Add("_pragma", "query_only(1)")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return db, nil
}

func (s *Store) checkWAL(ctx context.Context) error {
	var mode string
	if err := s.write.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("open store %s: %w", s.where, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("open store %s: journal_mode is %q, want wal", s.where, mode)
	}
	return nil
}

// Backup writes a consistent copy of the SQLite database in dir to dest (VACUUM INTO)
// without taking the storage lock, so that it works while alertrouter runs on dir. dest
// must not exist; the copy is compact and has no WAL, so it restores by being put at
// DIR/alertrouter.db.
func Backup(ctx context.Context, dir, dest string) error {
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("backup: no database: %w", err)
	}
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("backup: %s already exists", dest)
	}
	// A plain connection: the read pool's query_only refuses VACUUM INTO. It reads one
	// committed snapshot and does not wait for the writer.
	db, err := openDB(path, backupConn)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dest); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}
