// Package dispatch drains the outbox into receivers: one worker per configured receiver,
// pacing for receivers with a rate limit, backoff with jitter, the classification of each
// attempt's outcome (sent, retry, throttled, dead), the delivery metrics, and the janitor
// that expires and prunes old rows. It also owns the outbox's contract: the Notification
// that the router and the watchdog enqueue and that workers decode (notification.go).
//
// The path store -> dispatcher -> receiver is all here; the router only enqueues and
// wakes workers with Notify.
package dispatch

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/store"
)

// Dispatcher tuning. Backoff doubles from minBackoff up to maxBackoff, with jitter.
const (
	minBackoff     = time.Second
	maxBackoff     = 5 * time.Minute
	attemptTimeout = 30 * time.Second // a receiver's own timeout should be shorter
	batchSize      = 64
	idlePoll       = time.Minute // also catches rows whose wake-up was missed
	// readInterval spaces a worker's reads of its due rows while they come in a trickle:
	// woken again sooner after a read that was not a full batch, it waits for the rest.
	// Read at each wakeup, a notification at a time, the reads, their NextDue and the
	// commits that record each delivery took a fifth of alertrouter's CPU at 5,000
	// alerts/s (a million-alert database, 2 cores, 20 s: 21.7-24.6 CPU seconds, against
	// 17.5-18.9 with this; webhook p99 14-23 ms, against 10-11). Delivery waits up to
	// this long more; a backlog (full batches) is read at once.
	readInterval   = 10 * time.Millisecond
	storeErrorWait = 5 * time.Second
)

// Options are a Dispatcher's dependencies.
type Options struct {
	Store  *store.Store
	Logger *slog.Logger
	// Registerer gets the delivery metrics.
	Registerer prometheus.Registerer
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Stdout is where log receivers write; os.Stdout when nil.
	Stdout io.Writer
	// Links puts action links in a message for a receiver that shows them
	// (receivers.ActionLinked); nil for none.
	Links func(msg *receivers.Message, asButtons bool)
}

// Dispatcher delivers the outbox. Workers follow config changes (SetConfig).
type Dispatcher struct {
	store   *store.Store
	logger  *slog.Logger
	now     func() time.Time
	stdout  io.Writer
	metrics *metrics
	current atomic.Pointer[receiverSet]
	batches batchCache
	links   func(*receivers.Message, bool)

	// leader is set while this replica holds the leader lease (always on SQLite): the
	// janitor and the watchdog run only then, once per cluster.
	leader atomic.Bool

	mu      sync.Mutex
	workers map[string]*worker
	wg      sync.WaitGroup
	ctx     context.Context // set by Run; workers stop taking work when it is done
}

// receiverSet is what one config gives the dispatcher. It is replaced whole, so that an
// attempt always sees one config's receivers and limits.
type receiverSet struct {
	global    config.Global
	receivers map[string]receivers.Receiver
}

// New builds a dispatcher for a validated config. It delivers nothing until Run.
func New(cfg *config.Config, o Options) *Dispatcher {
	d := &Dispatcher{store: o.Store, logger: o.Logger, now: o.Now, stdout: o.Stdout, links: o.Links, workers: map[string]*worker{}}
	if d.now == nil {
		d.now = time.Now
	}
	if d.stdout == nil {
		d.stdout = os.Stdout
	}
	d.current.Store(d.build(cfg))
	d.leader.Store(!d.store.Replicated())
	d.metrics = newMetrics(o.Registerer)
	o.Registerer.MustRegister(newOutboxCollector(d.store, d.logger, d.receiverNames))
	return d
}

func (d *Dispatcher) build(cfg *config.Config) *receiverSet {
	set := &receiverSet{global: cfg.Global, receivers: make(map[string]receivers.Receiver, len(cfg.Receivers))}
	for i := range cfg.Receivers {
		set.receivers[cfg.Receivers[i].Name] = cfg.Receivers[i].Build(cfg, d.stdout)
	}
	return set
}

// SetConfig switches to the receivers of a new validated config: it starts workers for
// new receivers and stops those of receivers that are gone. Rows of a removed receiver
// stay pending until they expire, so that re-adding it (or undoing a typo) loses nothing.
func (d *Dispatcher) SetConfig(cfg *config.Config) {
	d.current.Store(d.build(cfg))
	d.sync()
}

// Paused are the receivers whose worker here waits, and until when: the receiver asked
// us to (Retry-After, or "sent too fast"), or the store failed, or an attempt failed.
func (d *Dispatcher) Paused() map[string]time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	out := map[string]time.Time{}
	for name, w := range d.workers {
		if until := time.UnixMilli(w.pausedUntil.Load()); until.After(now) {
			out[name] = until
		}
	}
	return out
}

// Preview is msg as receiver would send it now (receivers.Previewer).
func (d *Dispatcher) Preview(receiver string, msg *receivers.Message) (string, error) {
	r, ok := d.current.Load().receivers[receiver]
	if !ok {
		return "", fmt.Errorf("receiver %q is not in the config any more", receiver)
	}
	p, ok := r.(receivers.Previewer)
	if !ok {
		return "", fmt.Errorf("receiver %q shows no preview", receiver)
	}
	return p.Preview(msg)
}

func (d *Dispatcher) receiverNames() []string {
	set := d.current.Load()
	names := make([]string, 0, len(set.receivers))
	for n := range set.receivers {
		names = append(names, n)
	}
	return names
}

// Run delivers and keeps the outbox tidy until ctx is done, then waits for every worker's
// attempt in flight (each bounded by its timeout) before it returns.
func (d *Dispatcher) Run(ctx context.Context) {
	d.mu.Lock()
	d.ctx = ctx
	d.mu.Unlock()
	d.sync()
	var background sync.WaitGroup
	if d.store.Replicated() {
		// Other replicas' commits wake the workers here; after a reconnection every
		// worker looks again, for what was committed meanwhile.
		background.Go(func() {
			d.store.Listen(ctx, d.logger, func(receiver string) { d.Notify([]string{receiver}) }, func() { d.Notify(d.receiverNames()) })
		})
		background.Go(func() { d.lead(ctx) })
	}
	d.janitor(ctx)
	background.Wait()
	d.wg.Wait()
}

// Leader reports whether this replica runs the once-per-cluster jobs (retention, expiry,
// the watchdog): always on SQLite, while it holds the leader lease on PostgreSQL.
func (d *Dispatcher) Leader() bool { return d.leader.Load() }

// lead holds the leader lease while it can (see keepLease) until ctx is done.
func (d *Dispatcher) lead(ctx context.Context) {
	d.keepLease(ctx, store.LeaderLease, &d.leader, d.logger.With("lease", store.LeaderLease), func(held bool) {
		d.logger.Info("Leadership changed", "leader", held)
	})
}

// Notify wakes the workers of receivers that have new notifications, so that delivery
// starts at once rather than at their next poll.
func (d *Dispatcher) Notify(receivers []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, name := range receivers {
		if w, ok := d.workers[name]; ok {
			w.wakeUp()
		}
	}
}

// worker delivers to one receiver, so that a slow or rate-limited destination never
// holds up the others.
type worker struct {
	name   string
	wake   chan struct{}
	cancel context.CancelFunc
	// Only the worker's goroutine touches these.
	// throttles counts consecutive rate-limit answers, to back off when they come
	// without Retry-After.
	throttles int
	// pace spaces out attempts for receivers that declare a rate limit.
	pace pacer
	// sent are deliveries made and not recorded yet (see record).
	sent []delivery
	// unrecorded holds deliveries the store failed to record as sent, by notification:
	// they are recorded, not delivered again, when the row comes up again.
	unrecorded map[int64]error
	// storeFailures counts store errors in a row, to back off from a failing store.
	storeFailures int
	// leased is set while this replica holds the receiver's lease (always on SQLite);
	// keepReceiverLease maintains it.
	leased atomic.Bool
	// pausedUntil is when the worker's last pause ends (Unix milliseconds), for Paused.
	pausedUntil atomic.Int64
}

// keepLease takes and renews the lease name every store.LeaseRenew until ctx is done,
// keeps held true while this replica holds it, and tells changed when that changes. It
// runs on its own goroutine, so that a lease is renewed through long attempts and pacing
// waits, not only between batches.
func (d *Dispatcher) keepLease(ctx context.Context, name string, held *atomic.Bool, logger *slog.Logger, changed func(held bool)) {
	for ctx.Err() == nil {
		now, err := d.store.Lease(ctx, name)
		if err != nil && ctx.Err() == nil {
			logger.Warn("Cannot renew a lease", "err", err)
		}
		if was := held.Swap(now); was != now {
			changed(now)
		}
		sleep(ctx, store.LeaseRenew, nil)
	}
}

// keepReceiverLease holds the lease of the worker's receiver (see keepLease), and wakes
// the worker when it becomes this replica's.
func (d *Dispatcher) keepReceiverLease(ctx context.Context, w *worker) {
	logger := d.logger.With("receiver", w.name)
	d.keepLease(ctx, store.ReceiverLease(w.name), &w.leased, logger, func(held bool) {
		if held {
			logger.Info("This replica delivers for the receiver now")
			w.wakeUp()
		} else {
			logger.Warn("This replica no longer delivers for the receiver: another took it over, or the database is out of reach")
		}
	})
}

func (w *worker) wakeUp() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *worker) isUnrecorded(id int64) bool {
	_, ok := w.unrecorded[id]
	return ok
}

// storeFailed counts a store error and returns how long to wait before the next try:
// storeErrorWait, doubling up to maxBackoff while the store keeps failing.
func (w *worker) storeFailed(now time.Time) time.Time {
	w.storeFailures++
	return now.Add(min(storeErrorWait<<min(w.storeFailures-1, 10), maxBackoff))
}

// sync starts a worker for every receiver of the current set and stops the others.
func (d *Dispatcher) sync() {
	set := d.current.Load()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx == nil || d.ctx.Err() != nil {
		return
	}
	for name, w := range d.workers {
		if _, ok := set.receivers[name]; !ok {
			w.cancel()
			delete(d.workers, name)
		}
	}
	for name := range set.receivers {
		if _, ok := d.workers[name]; ok {
			continue
		}
		ctx, cancel := context.WithCancel(d.ctx)
		w := &worker{name: name, wake: make(chan struct{}, 1), cancel: cancel, unrecorded: map[int64]error{}}
		d.workers[name] = w
		if d.store.Replicated() {
			d.wg.Go(func() { d.keepReceiverLease(ctx, w) })
		} else {
			w.leased.Store(true) // one alertrouter per SQLite file
		}
		d.wg.Go(func() { d.work(ctx, w) })
	}
}

func (d *Dispatcher) work(ctx context.Context, w *worker) {
	logger := d.logger.With("receiver", w.name)
	var pausedUntil time.Time
	var readAt time.Time // of the last read that was not a full batch (readInterval)
	for ctx.Err() == nil {
		if !w.leased.Load() {
			// Another replica delivers for it; keepReceiverLease wakes us when it is ours.
			sleep(ctx, store.LeaseRenew, w.wake)
			continue
		}
		if now := d.now(); now.Before(pausedUntil) {
			w.pausedUntil.Store(pausedUntil.UnixMilli())
			sleep(ctx, d.leaseBound(pausedUntil.Sub(now)), w.wake)
			continue
		}
		if !readAt.IsZero() {
			// Wall time, not d.now(): this paces the work, whatever the clock says.
			sleep(ctx, readInterval-time.Since(readAt), nil)
			if ctx.Err() != nil {
				return
			}
		}
		readAt = time.Now()
		due, err := d.store.Due(ctx, w.name, d.now(), batchSize)
		if len(due) == batchSize {
			readAt = time.Time{}
		}
		if err != nil {
			if ctx.Err() == nil {
				logger.Error("Cannot read the outbox", "err", err)
			}
			pausedUntil = w.storeFailed(d.now())
			continue
		}
		// Host groups whose oldest notification is waiting for a retry: their later ones
		// in this batch wait too (the store has pushed them back already).
		held := map[string]bool{}
		// Notifications that went out folded into an earlier one's digest.
		done := map[int64]bool{}
		for i := range due {
			if ctx.Err() != nil {
				break
			}
			if !w.leased.Load() {
				break // lost mid-batch: the new holder delivers the rest
			}
			if held[due[i].Hostgroup] || done[due[i].ID] {
				continue
			}
			out := d.deliver(ctx, w, logger, &due[i], d.foldable(w, due[i+1:], held, done))
			if out.retried {
				held[due[i].Hostgroup] = true
			}
			for _, id := range out.folded {
				done[id] = true
			}
			if pausedUntil = out.pauseUntil; !pausedUntil.IsZero() {
				break
			}
			if w.recordDue(d.now()) {
				if pausedUntil = d.record(w, logger); !pausedUntil.IsZero() {
					break
				}
			}
		}
		// Whatever happens next (another batch, a wait, shutdown), what was sent is
		// recorded first.
		if pause := d.record(w, logger); !pause.IsZero() {
			pausedUntil = pause
		}
		if ctx.Err() != nil {
			return
		}
		if !pausedUntil.IsZero() || len(due) == batchSize {
			continue
		}
		wait := idlePoll
		if next, ok, err := d.store.NextDue(ctx, w.name); err == nil && ok {
			wait = min(max(next.Sub(d.now()), 0), idlePoll)
		}
		sleep(ctx, d.leaseBound(wait), w.wake)
	}
}

// leaseBound shortens a worker's wait in replicated mode: a wakeup from another replica
// can be lost (the listener reconnecting), and a lease just taken must be used.
func (d *Dispatcher) leaseBound(wait time.Duration) time.Duration {
	if d.store.Replicated() {
		return min(wait, store.LeaseRenew)
	}
	return wait
}

// foldable returns the notifications of the batch that the next attempt may fold into
// its message: those not yet delivered nor held back, in order, when the receiver folds
// and is behind its pace (the next attempt waits for a token). Otherwise nil: a receiver
// within its pace gets one message per notification, as always.
func (d *Dispatcher) foldable(w *worker, rest []store.Notification, held map[string]bool, done map[int64]bool) []*store.Notification {
	f, ok := d.current.Load().receivers[w.name].(receivers.Folder)
	if !ok || len(rest) == 0 {
		return nil
	}
	if perSecond, burst := f.RateLimit(); !w.pace.behind(perSecond, burst, time.Now()) {
		return nil
	}
	var out []*store.Notification
	for i := range rest {
		if !held[rest[i].Hostgroup] && !done[rest[i].ID] && !w.isUnrecorded(rest[i].ID) {
			out = append(out, &rest[i])
		}
	}
	return out
}

// sleep waits for d, the wake channel or the end of ctx.
func sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-wake:
	}
}
