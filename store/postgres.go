package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/alertrouter/alertrouter/migrations"
)

// PostgreSQL tuning.
const (
	// txTimeout bounds one write transaction, so that a database that went away makes a
	// webhook answer 503 (Alertmanager retries) within its deadline, instead of hanging.
	txTimeout = 8 * time.Second
	// LeaseTTL is how long a lease lasts without renewal: a replica that dies loses its
	// receivers to another within this. Holders renew every LeaseRenew.
	LeaseTTL   = 20 * time.Second
	LeaseRenew = 5 * time.Second
	// keepAlive makes a partition noticed on connections that wait (the listener).
	keepAlive   = 15 * time.Second
	dialTimeout = 5 * time.Second
	maxConns    = 16
	// notifyChannel is where commits that enqueued tell the replicas whose receivers
	// have work; the payload is the receiver's name.
	notifyChannel = "alertrouter_outbox"
)

// ErrLeaseLost means the replica no longer holds the lease of the receiver whose outcome
// it tried to record: another replica delivers for it now.
var ErrLeaseLost = errors.New("this replica no longer holds the receiver's lease")

// postgres is the PostgreSQL backend: a pool shared by reads and writes.
type postgres struct {
	db     *sql.DB
	config *pgx.ConnConfig
	// holder names this replica in leases: host, pid and a random part, so that a
	// restarted process does not inherit the leases of its previous life.
	holder string
	where  string
	closed atomic.Bool

	// held are the leases this replica holds, by name, with when they stop counting
	// here (a little before they expire in the database). A commit need not notify the
	// replica that delivers for a receiver when that replica is this one.
	mu   sync.Mutex
	held map[string]time.Time
}

// OpenPostgres connects to the PostgreSQL database at rawURL (a postgres:// URL or a
// key=value string, as libpq takes), refuses a schema newer than this binary, and applies
// pending migrations under goose's session lock, so that replicas that start together do
// not race. Errors never show the password.
func OpenPostgres(ctx context.Context, rawURL string) (*Store, error) {
	config, err := pgx.ParseConfig(rawURL)
	if err != nil {
		// pgx's message quotes the string with the password redacted; ours says less.
		return nil, errors.New("open store: the PostgreSQL URL is not valid (want postgres://user@host:5432/db?sslmode=verify-full)")
	}
	// A prepared statement must not fall into a generic plan built on an empty table
	// (measured: 8,000 alerts/s fell to 880 within 25 s). Commits stay synchronous: a 200
	// means the notification is on the primary's disk.
	config.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	config.RuntimeParams["synchronous_commit"] = "on"
	// A replica that dies or is cut off mid-transaction must not keep its locks on the
	// server until the server's own TCP keepalive (2 h by default) ends the session: the
	// server ends a transaction left idle, and probes its clients' connections.
	config.RuntimeParams["idle_in_transaction_session_timeout"] = fmt.Sprint((txTimeout + 5*time.Second).Milliseconds())
	config.RuntimeParams["tcp_keepalives_idle"] = fmt.Sprint(int(keepAlive.Seconds()))
	config.RuntimeParams["tcp_keepalives_interval"] = "5"
	config.RuntimeParams["tcp_keepalives_count"] = "3"
	config.RuntimeParams["tcp_user_timeout"] = fmt.Sprint((txTimeout + 5*time.Second).Milliseconds())
	if config.RuntimeParams["application_name"] == "" {
		config.RuntimeParams["application_name"] = "alertrouter"
	}
	dialer := &net.Dialer{KeepAlive: keepAlive, Timeout: dialTimeout}
	config.DialFunc = dialer.DialContext
	if config.ConnectTimeout == 0 {
		config.ConnectTimeout = dialTimeout
	}
	p := &postgres{config: config, holder: newHolder(), where: describe(rawURL, config), held: map[string]time.Time{}}
	p.db = stdlib.OpenDB(*config)
	p.db.SetMaxOpenConns(maxConns)
	p.db.SetMaxIdleConns(maxConns)
	s := &Store{write: p.db, read: p.db, where: p.where, pg: p}
	if err := p.open(ctx); err != nil {
		p.db.Close()
		return nil, err
	}
	return s, nil
}

func (p *postgres) open(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := p.db.PingContext(ctx); err != nil {
		return fmt.Errorf("open store %s: %w", p.where, err)
	}
	mp, err := p.migrations()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := migrate(ctx, mp, p.where); err != nil {
		return err
	}
	// Fresh statistics, so that the planner does not keep the plans of empty tables.
	if _, err := p.db.ExecContext(ctx, "ANALYZE notifications, claims"); err != nil {
		return fmt.Errorf("open store %s: analyze: %w", p.where, err)
	}
	return nil
}

func (p *postgres) migrations() (*goose.Provider, error) {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, p.db, migrations.Postgres,
		goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(locker))
}

// describe names the database for messages: user, host, port and database, rebuilt from
// the parsed config, so that no password (in the user part, or password= and
// sslpassword= in the query) can be in it; and sslmode, which says how it is reached.
func describe(rawURL string, config *pgx.ConnConfig) string {
	u := url.URL{Scheme: "postgres", User: url.User(config.User), Host: net.JoinHostPort(config.Host, fmt.Sprint(config.Port)), Path: "/" + config.Database}
	if strings.HasPrefix(config.Host, "/") { // a unix socket directory
		u.Host, u.RawQuery = "", url.Values{"host": {config.Host}}.Encode()
	}
	if parsed, err := url.Parse(rawURL); err == nil {
		if mode := parsed.Query().Get("sslmode"); mode != "" {
			q := u.Query()
			q.Set("sslmode", mode)
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}

func newHolder() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// update runs fn in its own transaction, bounded by txTimeout, and commits. Replicas (and
// this process's goroutines) run theirs concurrently: the decisions that must not race
// take advisory locks (Tx.Lock). The writes fn left for the commit (Tx.atCommit) and the
// notice to the receivers whose outbox grew go in the commit's round trip (pg_notify is
// delivered on commit, and only then).
func (p *postgres) update(ctx context.Context, fn func(*Tx) error) error {
	if p.closed.Load() {
		return ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, txTimeout)
	defer cancel()
	conn, err := p.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	// A connection given back inside a transaction (a failed rollback) is discarded by
	// the pool, never reused: pgx's stdlib checks on reset.
	defer conn.Close()
	t := &Tx{conn: conn, ctx: ctx, pg: true, holder: p.holder}
	if err := fn(t); err != nil {
		if t.begun {
			rollback(conn)
		}
		return err
	}
	if !t.begun && len(t.later) == 0 {
		return nil // fn did nothing
	}
	b := &pgx.Batch{}
	woken := p.remote(uniq(t.woken))
	if len(woken) > 0 {
		b.Queue(`SELECT pg_notify('`+notifyChannel+`', r) FROM unnest($1::text[]) AS r`, woken)
	}
	b.Queue("COMMIT")
	err = t.batch(b, func(br pgx.BatchResults) error {
		if len(woken) > 0 {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("notify: %w", err)
			}
		}
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	})
	if err != nil {
		rollback(conn)
		return err
	}
	return nil
}

// rollback ends a failed transaction. It has a context of its own: the transaction's
// may be what ran out.
func rollback(conn *sql.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, _ = conn.ExecContext(ctx, "ROLLBACK")
}

// remote keeps the receivers whose lease this replica does not hold: another replica
// delivers for them, and must be told (the dispatcher here is told in-process).
func (p *postgres) remote(receivers []string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	out := receivers[:0]
	for _, r := range receivers {
		if until, ok := p.held[ReceiverLease(r)]; !ok || now.After(until) {
			out = append(out, r)
		}
	}
	return out
}

// noteLease records whether this replica holds the lease name, as the database just said.
func (p *postgres) noteLease(name string, held bool, renewed time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if held {
		p.held[name] = renewed.Add(LeaseTTL - 2*LeaseRenew)
	} else {
		delete(p.held, name)
	}
}

func uniq(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// ping reports whether the database answers and takes writes: a standby after a
// failover, or a database made read-only, answers but takes none.
func (p *postgres) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var readOnly string
	if err := p.db.QueryRowContext(ctx, "SHOW transaction_read_only").Scan(&readOnly); err != nil {
		return err
	}
	if readOnly == "on" {
		return errors.New("the database is read-only (a standby?): writes would fail")
	}
	return nil
}

// close gives up this replica's leases, so that another (or this one, restarted) takes
// its receivers at once rather than after LeaseTTL, and closes the pool.
func (p *postgres) close() error {
	p.closed.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := p.db.ExecContext(ctx, `DELETE FROM leases WHERE holder = $1`, p.holder)
	if err == nil {
		_, err = p.db.ExecContext(ctx, `DELETE FROM replicas WHERE holder = $1`, p.holder)
	}
	return errors.Join(err, p.db.Close())
}

// LockKey names what a transaction decides on, for Tx.Lock, and how: exclusive, or
// shared with the other holders of the shared lock. Keys come in three classes, taken in
// this order: a receiver's (ReceiverLock), a queue's (QueueLock), an alert's (ClaimLock);
// a fourth, a silence's matchers, is taken alone.
type LockKey struct {
	class  int
	key    int64
	shared bool
}

// The classes of lock keys, in the order a transaction takes them: nobody waits for a
// lock of an earlier class while holding one of a later class, so there is no cycle.
const (
	receiverClass = iota
	queueClass
	claimClass
	silenceClass // taken alone
)

// ReceiverLock is the key of all the dedupe decisions of one receiver. A transaction that
// locks single alerts holds it shared; one that decides on too many alerts to lock each
// (PostgreSQL's lock table is shared by the whole server and small: 64 per connection by
// default) holds it exclusive instead.
func ReceiverLock(receiver string, exclusive bool) LockKey {
	return LockKey{class: receiverClass, key: lockKey("receiver", receiver, ""), shared: !exclusive}
}

// ClaimLock is the key of one alert's dedupe decision at one receiver: exclusive, so that
// two replicas decide on one alert one after the other. Take its receiver's lock shared
// with it.
func ClaimLock(receiver, fingerprint string) LockKey {
	return LockKey{class: claimClass, key: lockKey("claim", receiver, fingerprint)}
}

// QueueLock is the key of one (receiver, host group) delivery queue, as an enqueue takes
// it: shared, so that webhooks to one host group do not wait on each other (the claim
// locks already order the notifications of one alert), while a retry, which pushes the
// queue back, takes it exclusively (Tx.fence) and never interleaves with an enqueue.
func QueueLock(receiver, hostgroup string) LockKey {
	return LockKey{class: queueClass, key: lockKey("queue", receiver, hostgroup), shared: true}
}

// MaxClaimLocks is how many alerts of one receiver a transaction locks one by one; past
// it, it takes the receiver's lock exclusively.
const MaxClaimLocks = 200

// ClaimLocks are the locks of the decisions on keys: each receiver's lock, shared, with
// the lock of each of its claims; past MaxClaimLocks claims of one receiver, its lock
// exclusive instead.
func ClaimLocks(keys []ClaimKey) []LockKey {
	perReceiver := map[string]int{}
	for _, k := range keys {
		perReceiver[k.Receiver]++
	}
	locks := make([]LockKey, 0, len(perReceiver)+len(keys))
	for r, n := range perReceiver {
		locks = append(locks, ReceiverLock(r, n > MaxClaimLocks))
	}
	for _, k := range keys {
		if perReceiver[k.Receiver] <= MaxClaimLocks {
			locks = append(locks, ClaimLock(k.Receiver, k.Fingerprint))
		}
	}
	return locks
}

// lockKey is the 64-bit FNV-1a hash of kind, a and b, each followed by a zero byte (as
// hash/fnv would give it, written out so that a transaction's hundreds of keys cost no
// allocation). Replicas of different versions must agree on it.
func lockKey(kind, a, b string) int64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for _, s := range [...]string{kind, a, b} {
		for i := 0; i < len(s); i++ {
			h = (h ^ uint64(s[i])) * prime
		}
		h *= prime // the zero byte: h ^ 0 == h
	}
	return int64(h)
}

// Lock takes, on PostgreSQL, the transaction-scoped advisory locks of keys, all in one
// round trip and in one order (by class, then sorted), so that two transactions never
// wait on each other in a cycle. Take every lock a transaction needs in one call, before
// its reads: two replicas that got the same alert then decide one after the other, and
// the second sees the first's claim. The locks go with the transaction. SQLite needs
// none: its one writer runs transactions one at a time.
func (t *Tx) Lock(keys ...LockKey) error {
	if !t.pg {
		return nil
	}
	ks, shared := t.toLock(keys)
	if len(ks) == 0 {
		return nil
	}
	if _, err := t.exec(lockQuery, ks, shared); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	t.holdLocks(ks, shared)
	return nil
}

// lockQuery takes advisory locks in the order given: $1 the keys, $2 whether each is shared.
const lockQuery = `SELECT CASE WHEN s THEN pg_advisory_xact_lock_shared(k) ELSE pg_advisory_xact_lock(k) END
	FROM unnest($1::bigint[], $2::bool[]) WITH ORDINALITY AS l(k, s, n) ORDER BY n`

// toLock is what of keys the transaction does not hold yet (or holds only shared, and
// now needs exclusive), in the order to take it: by class, then by key.
func (t *Tx) toLock(keys []LockKey) (ks []int64, shared []bool) {
	type id struct {
		class int
		key   int64
	}
	mode := make(map[id]bool, len(keys)) // -> shared; exclusive wins
	for _, k := range keys {
		i := id{k.class, k.key}
		if onlyShared, held := t.locks[i.key]; held && (k.shared || !onlyShared) {
			continue // held already, as strongly
		}
		if shared, seen := mode[i]; !seen || shared {
			mode[i] = k.shared
		}
	}
	ids := slices.SortedFunc(maps.Keys(mode), func(a, b id) int { return cmp.Or(cmp.Compare(a.class, b.class), cmp.Compare(a.key, b.key)) })
	ks, shared = make([]int64, len(ids)), make([]bool, len(ids))
	for i, k := range ids {
		ks[i], shared[i] = k.key, mode[k]
	}
	return ks, shared
}

// holdLocks records locks the transaction took.
func (t *Tx) holdLocks(ks []int64, shared []bool) {
	if t.locks == nil {
		t.locks = map[int64]bool{}
	}
	for i, k := range ks {
		if _, held := t.locks[k]; !held || !shared[i] {
			t.locks[k] = shared[i]
		}
	}
}

// fence makes sure, on PostgreSQL, that this replica holds the lease of notification
// id's receiver, and keeps the lease row from being taken over until the transaction
// ends (FOR SHARE): an outcome is recorded only by the replica that delivers for the
// receiver. A notification that is gone needs no fence. When lockQueue is set it also
// takes the exclusive lock of the notification's queue (see QueueLock): a retry that
// pushes the queue back must not interleave with an enqueue to it.
func (t *Tx) fence(id int64, lockQueue bool) error {
	if !t.pg {
		return nil
	}
	var receiver, hostgroup string
	err := t.queryRow(`SELECT receiver, hostgroup FROM notifications WHERE id = $1`, id).Scan(&receiver, &hostgroup)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("fence: %w", err)
	}
	var one int
	err = t.queryRow(`SELECT 1 FROM leases
		WHERE name = $1 AND holder = $2 AND expires_at > now() FOR SHARE`, ReceiverLease(receiver), t.holder).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrLeaseLost
	}
	if err != nil {
		return fmt.Errorf("fence: %w", err)
	}
	if !lockQueue {
		return nil
	}
	exclusive := QueueLock(receiver, hostgroup)
	exclusive.shared = false
	return t.Lock(exclusive)
}

// ReceiverLease is the name of the lease of a receiver's delivery.
func ReceiverLease(receiver string) string { return "receiver/" + receiver }

// LeaderLease is the name of the lease of the once-per-cluster jobs: retention, expiry
// and the watchdog.
const LeaderLease = "leader"

// Lease takes or renews the lease name for this replica, for LeaseTTL by the database's
// clock, and reports whether this replica holds it: the holder renews it, anyone takes it
// once it expired. On SQLite the one alertrouter (the storage lock) holds every lease.
func (s *Store) Lease(ctx context.Context, name string) (bool, error) {
	if s.pg == nil {
		return true, nil
	}
	ctx, cancel := context.WithTimeout(ctx, txTimeout)
	defer cancel()
	start := time.Now()
	var holder string
	err := s.pg.db.QueryRowContext(ctx, `INSERT INTO leases (name, holder, expires_at)
		VALUES ($1, $2, now() + $3 * interval '1 millisecond')
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			WHERE leases.holder = excluded.holder OR leases.expires_at <= now()
		RETURNING holder`, name, s.pg.holder, LeaseTTL.Milliseconds()).Scan(&holder)
	if errors.Is(err, sql.ErrNoRows) {
		s.pg.noteLease(name, false, start)
		return false, nil // another replica holds it
	}
	if err != nil {
		s.pg.noteLease(name, false, start)
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	s.pg.noteLease(name, holder == s.pg.holder, start)
	return holder == s.pg.holder, nil
}

// Listen tells wake about the receivers other replicas (and this one) enqueued for, as
// their commits land, until ctx ends. After every (re)connection it calls rescan, for
// what was committed while it was not listening. It returns at once on SQLite, where the
// dispatcher is told in-process.
func (s *Store) Listen(ctx context.Context, logger *slog.Logger, wake func(receiver string), rescan func()) {
	if s.pg == nil {
		return
	}
	const minWait = time.Second
	wait := minWait
	for ctx.Err() == nil {
		connected := time.Now()
		err := s.pg.listen(ctx, wake, rescan)
		if ctx.Err() != nil {
			return
		}
		// The connection dropped: the slow poll covers the gap, then we reconnect; soon
		// again after a connection that lasted.
		if time.Since(connected) > time.Minute {
			wait = minWait
		}
		if logger != nil {
			logger.Warn("Lost the PostgreSQL listener connection; reconnecting", "err", err, "in", wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(wait*2, 30*time.Second)
	}
}

func (p *postgres) listen(ctx context.Context, wake func(string), rescan func()) error {
	conn, err := pgx.ConnectConfig(ctx, p.config)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	rescan()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		wake(n.Payload)
	}
}

// replicaSeen is how recently a replica must have reported its config to count as live.
const replicaSeen = time.Minute

// ReportConfig records the hash of this replica's config and returns the hashes of the
// configs the other live replicas run, when they differ from it: replicas with different
// configs route and dedupe differently. Nil on SQLite.
func (s *Store) ReportConfig(ctx context.Context, hash string) ([]string, error) {
	if s.pg == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, txTimeout)
	defer cancel()
	if _, err := s.pg.db.ExecContext(ctx, `INSERT INTO replicas (holder, config_hash, seen_at) VALUES ($1, $2, now())
		ON CONFLICT (holder) DO UPDATE SET config_hash = excluded.config_hash, seen_at = excluded.seen_at`, s.pg.holder, hash); err != nil {
		return nil, fmt.Errorf("report config: %w", err)
	}
	rows, err := s.pg.db.QueryContext(ctx, `SELECT DISTINCT config_hash FROM replicas
		WHERE holder <> $1 AND config_hash <> $2 AND seen_at > now() - $3 * interval '1 millisecond'
		ORDER BY config_hash`, s.pg.holder, hash, replicaSeen.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("report config: %w", err)
	}
	defer rows.Close()
	var others []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("report config: %w", err)
		}
		others = append(others, h)
	}
	return others, rows.Err()
}
