package store

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/alertrouter/alertrouter/internal/pgtest"
	"github.com/alertrouter/alertrouter/migrations"
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

// Migration 6 moves each notification's payload into a batch of its own: what was
// pending before the upgrade is delivered after it, as it was, and later batches do not
// collide with the moved ones.
func TestMigration6MovesPayloadsIntoBatches(t *testing.T) {
	payloads := [][]byte{[]byte(`{"receiver":"r","status":"firing","alerts":[{"labels":{"alertname":"A"}}]}`), []byte(`{"alerts":[]}`)}
	check := func(t *testing.T, s *Store) {
		ctx := context.Background()
		due, err := s.Due(ctx, "r", t0, 10)
		if err != nil || len(due) != 2 {
			t.Fatalf("Due = %+v, %v", due, err)
		}
		for i, n := range due {
			if string(n.Batch) != string(payloads[i]) || n.Alerts != nil || n.AlertNames[0] != "A" {
				t.Fatalf("notification %d after migration: batch %q, alerts %v, names %v", n.ID, n.Batch, n.Alerts, n.AlertNames)
			}
		}
		id := enqueue(t, s, "r", t0.Add(time.Second))
		due, err = s.Due(ctx, "r", t0.Add(time.Second), 10)
		if err != nil || len(due) != 3 || due[2].ID != id || string(due[2].Batch) != "{}" {
			t.Fatalf("after a new enqueue: %+v, %v", due, err)
		}
		for _, n := range due {
			if err := s.MarkSent(ctx, n.ID, "", t0); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := s.Prune(ctx, t0.Add(time.Hour), t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		var batches int
		if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM batches`).Scan(&batches); err != nil || batches != 0 {
			t.Fatalf("%d batches left after their notifications were pruned, %v", batches, err)
		}
	}
	insert := `INSERT INTO notifications (receiver, route, hostgroup, status, alertnames, alert_count, payload, created_at, next_attempt_at, updated_at)
		VALUES ('r', 'routes[0]', 'hg', 'firing', 'A', 1, $1, $2, $2, $2)`
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		db, err := openDB(filepath.Join(dir, FileName), writerConn)
		if err != nil {
			t.Fatal(err)
		}
		version5(t, goose.DialectSQLite3, db, migrations.SQLite, insert, payloads)
		check(t, openTest(t, dir))
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.New(t)
		db, err := sql.Open("pgx", url)
		if err != nil {
			t.Fatal(err)
		}
		version5(t, goose.DialectPostgres, db, migrations.Postgres, insert, payloads)
		check(t, openPostgresTest(t, url))
	})
}

// version5 migrates db to version 5, inserts a notification with each payload, and closes it.
func version5(t *testing.T, dialect goose.Dialect, db *sql.DB, fsys fs.FS, insert string, payloads [][]byte) {
	t.Helper()
	defer db.Close()
	ctx := context.Background()
	p, err := goose.NewProvider(dialect, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 5); err != nil {
		t.Fatal(err)
	}
	for _, payload := range payloads {
		if _, err := db.ExecContext(ctx, insert, payload, t0.UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
}

// Migration 6 goes down (for goose's sake: the way back is a backup) and up again.
func TestMigration6GoesDownAndUp(t *testing.T) {
	payload := []byte(`{"alerts":[]}`)
	insert := `INSERT INTO notifications (receiver, route, hostgroup, status, alertnames, alert_count, payload, created_at, next_attempt_at, updated_at)
		VALUES ('r', 'routes[0]', 'hg', 'firing', 'A', 1, $1, $2, $2, $2)`
	downAndUp := func(t *testing.T, dialect goose.Dialect, db *sql.DB, fsys fs.FS) {
		t.Helper()
		ctx := context.Background()
		p, err := goose.NewProvider(dialect, db, fsys, goose.WithDisableGlobalRegistry(true))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.UpTo(ctx, 6); err != nil {
			t.Fatal(err)
		}
		if _, err := p.DownTo(ctx, 5); err != nil {
			t.Fatalf("down: %v", err)
		}
		var back []byte
		if err := db.QueryRowContext(ctx, `SELECT payload FROM notifications`).Scan(&back); err != nil || string(back) != string(payload) {
			t.Fatalf("payload after down: %q, %v", back, err)
		}
		if _, err := p.UpTo(ctx, 6); err != nil {
			t.Fatalf("up again: %v", err)
		}
		var body []byte
		if err := db.QueryRowContext(ctx, `SELECT b.body FROM notifications n JOIN batches b ON b.id = n.batch_id`).Scan(&body); err != nil || string(body) != string(payload) {
			t.Fatalf("batch after up: %q, %v", body, err)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), FileName)
		db, err := openDB(path, writerConn)
		if err != nil {
			t.Fatal(err)
		}
		version5(t, goose.DialectSQLite3, db, migrations.SQLite, insert, [][]byte{payload})
		if db, err = openDB(path, writerConn); err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		downAndUp(t, goose.DialectSQLite3, db, migrations.SQLite)
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.New(t)
		db, err := sql.Open("pgx", url)
		if err != nil {
			t.Fatal(err)
		}
		version5(t, goose.DialectPostgres, db, migrations.Postgres, insert, [][]byte{payload})
		if db, err = sql.Open("pgx", url); err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		downAndUp(t, goose.DialectPostgres, db, migrations.Postgres)
	})
}
