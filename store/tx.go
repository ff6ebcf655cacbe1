package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Tx is a write transaction (see Update), used to take dedupe decisions and enqueue their
// results atomically. Its methods run under the transaction's own context.
//
// Statements go through exec, query and queryRow, which take SQL in SQLite's placeholders
// and rebind it for PostgreSQL (dialect.go).
type Tx struct {
	ctx context.Context

	// SQLite: the writer's transaction and its prepared statements.
	tx    *sql.Tx
	stmts *statements

	// PostgreSQL: the connection the transaction runs on. BEGIN is sent with the first
	// statement, in the same round trip when that is a batch (Tx.batch): on a remote
	// database round trips are the cost. The Tx also takes locks, fences outcomes on the
	// receiver's lease, and wakes the replica that delivers what it enqueued.
	pg     bool
	conn   *sql.Conn
	begun  bool
	holder string
	woken  []string
	// locks are the advisory locks the transaction holds: true when only shared.
	locks map[int64]bool
}

// statements are the SQLite writer's hot-path statements, prepared once: parsing SQL text
// was a quarter of the webhook path's CPU time. (pgx caches PostgreSQL's itself.)
type statements struct {
	claims, putClaim, enqueue, putBatch *sql.Stmt
}

// querier is what *sql.Tx (SQLite) and *sql.Conn (PostgreSQL, inside BEGIN) share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// q is where the transaction's statements go; on PostgreSQL it begins the transaction
// first if no statement has.
func (t *Tx) q() (querier, error) {
	if !t.pg {
		return t.tx, nil
	}
	if !t.begun {
		if _, err := t.conn.ExecContext(t.ctx, "BEGIN"); err != nil {
			return nil, fmt.Errorf("begin: %w", err)
		}
		t.begun = true
	}
	return t.conn, nil
}

func (t *Tx) exec(query string, args ...any) (sql.Result, error) {
	q, err := t.q()
	if err != nil {
		return nil, err
	}
	return q.ExecContext(t.ctx, t.sql(query), args...)
}

func (t *Tx) query(query string, args ...any) (*sql.Rows, error) {
	q, err := t.q()
	if err != nil {
		return nil, err
	}
	return q.QueryContext(t.ctx, t.sql(query), args...)
}

// row is a *sql.Row, or the error of beginning the transaction it would have run in.
type row struct {
	*sql.Row
	err error
}

func (r row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.Row.Scan(dest...)
}

func (t *Tx) queryRow(query string, args ...any) row {
	q, err := t.q()
	if err != nil {
		return row{err: err}
	}
	return row{Row: q.QueryRowContext(t.ctx, t.sql(query), args...)}
}

// batch sends the statements queued in b to PostgreSQL in one round trip (a pipeline),
// preceded by BEGIN when the transaction has not begun, and reads their results, in
// order, with read. After an error the server skips the rest of the batch, and the
// transaction can only be rolled back (update does).
func (t *Tx) batch(b *pgx.Batch, read func(pgx.BatchResults) error) error {
	begin := !t.begun
	if begin {
		b.QueuedQueries = append([]*pgx.QueuedQuery{{SQL: "BEGIN"}}, b.QueuedQueries...)
	}
	return t.conn.Raw(func(driverConn any) error {
		br := driverConn.(*stdlib.Conn).Conn().SendBatch(t.ctx, b)
		if begin {
			if _, err := br.Exec(); err != nil {
				return errors.Join(fmt.Errorf("begin: %w", err), br.Close())
			}
			t.begun = true
		}
		err := read(br)
		return errors.Join(err, br.Close())
	})
}
