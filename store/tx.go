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
	// absent are the claims that ClaimsOf found missing under their locks (see
	// pgInsertClaimsQuery).
	absent map[ClaimKey]bool
	// later are writes that go with the next round trip (see atCommit).
	later []statement
	// want is what Reserve asked for and no round trip has reserved (or read) yet;
	// notificationIDs and batchIDs are ids reserved and not yet used.
	want struct {
		notifications, batches int
		queues                 []QueueKey
	}
	notificationIDs, batchIDs []int64
	// holds are the queue holds read (0: none), and notified when the claims read were
	// last notified, in Unix milliseconds: when what is enqueued is due (holds.go).
	holds    map[QueueKey]int64
	notified map[ClaimKey]int64
}

// statement is a PostgreSQL statement waiting for the next round trip.
type statement struct {
	what string // for errors
	sql  string
	args []any
}

// statements are the SQLite writer's hot-path statements, prepared once: parsing SQL text
// was a quarter of the webhook path's CPU time. (pgx caches PostgreSQL's itself.)
type statements struct {
	claimsOf, putClaim, enqueue, putBatch, markSent, putSuppression *sql.Stmt
}

// querier is what *sql.Tx (SQLite) and *sql.Conn (PostgreSQL, inside BEGIN) share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// q is where the transaction's statements go; on PostgreSQL it first sends what waits
// for a round trip (BEGIN, writes; see batch).
func (t *Tx) q() (querier, error) {
	if !t.pg {
		return t.tx, nil
	}
	if !t.begun || len(t.later) > 0 {
		if err := t.batch(&pgx.Batch{}, nil); err != nil {
			return nil, err
		}
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
// after BEGIN when the transaction has not begun and the writes waiting in t.later, and
// reads the results of b's statements, in order, with read (nil when b has none). After
// an error the server skips the rest of the batch, and the transaction can only be rolled
// back (update does).
func (t *Tx) batch(b *pgx.Batch, read func(pgx.BatchResults) error) error {
	var first []*pgx.QueuedQuery
	begin := !t.begun
	if begin {
		first = append(first, &pgx.QueuedQuery{SQL: "BEGIN"})
	}
	later := t.later
	t.later = nil
	for _, st := range later {
		first = append(first, &pgx.QueuedQuery{SQL: st.sql, Arguments: st.args})
	}
	b.QueuedQueries = append(first, b.QueuedQueries...)
	return t.conn.Raw(func(driverConn any) error {
		br := driverConn.(*stdlib.Conn).Conn().SendBatch(t.ctx, b)
		if begin {
			if _, err := br.Exec(); err != nil {
				return errors.Join(fmt.Errorf("begin: %w", err), br.Close())
			}
			t.begun = true
		}
		for _, st := range later {
			if _, err := br.Exec(); err != nil {
				return errors.Join(fmt.Errorf("%s: %w", st.what, err), br.Close())
			}
		}
		var err error
		if read != nil {
			err = read(br)
		}
		return errors.Join(err, br.Close())
	})
}

// atCommit queues a write on PostgreSQL to be sent with the transaction's next round
// trip: the commit's, unless another statement comes first. Its error, if any, is that
// round trip's.
func (t *Tx) atCommit(what, sql string, args ...any) {
	t.later = append(t.later, statement{what: what, sql: sql, args: args})
}

// Reserve asks for ids of notifications and batches to be reserved, and the holds of the
// queues they go to to be read (holds.go), on PostgreSQL, with the transaction's next
// reads (ClaimsOf), so that EnqueueAll can send its rows with the commit: a webhook's
// transaction is then two round trips. Ids left unused are skipped.
func (t *Tx) Reserve(notifications, batches int, queues []QueueKey) {
	if t.pg {
		t.want.notifications += notifications
		t.want.batches += batches
		t.wantHolds(queues)
	}
}

// Reserving ids: identity sequences hand them out in order, so each list is ascending.
const (
	reserveNotificationsQuery = `SELECT nextval('notifications_id_seq') FROM generate_series(1, $1) ORDER BY 1`
	reserveBatchesQuery       = `SELECT nextval('batches_id_seq') FROM generate_series(1, $1) ORDER BY 1`
)

// queueReserve queues onto b what Reserve asked for, and returns what reads it.
func (t *Tx) queueReserve(b *pgx.Batch) func(pgx.BatchResults) error {
	want := t.want
	t.want.notifications, t.want.batches = 0, 0
	if want.notifications > 0 {
		b.Queue(reserveNotificationsQuery, want.notifications)
	}
	if want.batches > 0 {
		b.Queue(reserveBatchesQuery, want.batches)
	}
	readHolds := t.queueHolds(b)
	return func(br pgx.BatchResults) error {
		for _, r := range []struct {
			n  int
			to *[]int64
		}{{want.notifications, &t.notificationIDs}, {want.batches, &t.batchIDs}} {
			if r.n == 0 {
				continue
			}
			rows, err := br.Query()
			if err != nil {
				return fmt.Errorf("reserve ids: %w", err)
			}
			ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				return fmt.Errorf("reserve ids: %w", err)
			}
			*r.to = append(*r.to, ids...)
		}
		if readHolds != nil {
			return readHolds(br)
		}
		return nil
	}
}

// takeIDs takes reserved ids for notifications and batches, reserving in a round trip of
// its own what is missing, with the queue holds wanted and not read yet.
func (t *Tx) takeIDs(notifications, batches int) (nids, bids []int64, err error) {
	t.want.notifications = max(0, notifications-len(t.notificationIDs))
	t.want.batches = max(0, batches-len(t.batchIDs))
	if t.want.notifications > 0 || t.want.batches > 0 || len(t.want.queues) > 0 {
		b := &pgx.Batch{}
		if err := t.batch(b, t.queueReserve(b)); err != nil {
			return nil, nil, err
		}
	}
	nids, t.notificationIDs = t.notificationIDs[:notifications:notifications], t.notificationIDs[notifications:]
	bids, t.batchIDs = t.batchIDs[:batches:batches], t.batchIDs[batches:]
	return nids, bids, nil
}
