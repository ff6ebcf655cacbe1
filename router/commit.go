package router

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/alertrouter/alertrouter/store"
)

// part is one webhook's share of an accept transaction: a chunk of its groups, with
// everything about them that does not depend on the dedupe decisions, prepared in the
// request's goroutine.
type part struct {
	ctx        context.Context
	chunk      []*group
	alerts     int
	batches    *batches
	keys       []store.ClaimKey
	heartbeats []string // sources of firing heartbeats, recorded with the first chunk
	policy     policy
	now        time.Time
	source     string

	// Filled in by the commit.
	tally         tally
	notifications int
	done          chan error
}

// newPart prepares a chunk of a webhook's groups for its transaction. Everything that
// does not depend on the dedupe decisions is done here, in the request's goroutine:
// transactions run one after the other (SQLite's one writer) or few at a time.
func newPart(ctx context.Context, rt *runtime, chunk []*group, now time.Time, source string) (*part, error) {
	batches, err := newBatches(chunk, rt.cfg.Global.HostgroupLabel, source)
	if err != nil {
		return nil, err
	}
	p := &part{ctx: ctx, chunk: chunk, batches: batches, keys: claimKeys(chunk), policy: rt.policy, now: now, source: source}
	for _, g := range chunk {
		p.alerts += len(g.alerts)
	}
	return p, nil
}

// committer runs the accept transactions. Parts that wait while another transaction
// runs are taken together by the next one: one read of their claims, one write of what
// they enqueue. Under a storm this turns sixteen webhooks' statements into those of one
// (on PostgreSQL every statement is planned afresh, and each round trip is a wait) while
// a lone webhook commits at once. It is flat combining: no goroutine of its own, a
// waiting request runs the next transaction when a slot is free.
type committer struct {
	store *store.Store
	// slots bounds the transactions in flight (commitSlots).
	slots chan struct{}

	mu      sync.Mutex
	waiting []*part
}

// commitSlots is how many accept transactions run at once. Measured with 32 concurrent
// senders (amload) on 2 cores: on PostgreSQL (fsync on) one webhook per transaction took
// 8,000 alerts/s, merged transactions 13,200 with 2 in flight, 11,200-13,000 with 3,
// 10,300 with 4 (in-process, 16 webhooks at a time: 9,300 with 1, 14,300-16,400 with 2).
// With one, nothing overlaps a transaction's round trips and commit; with more, each
// merges fewer webhooks. On SQLite, whose one writer commits what waits anyway, the
// figures did not move beyond noise (11,600-14,000).
const commitSlots = 2

func newCommitter(st *store.Store) *committer {
	return &committer{store: st, slots: make(chan struct{}, commitSlots)}
}

// commit runs p's transaction, alone or with others, and returns when it is committed
// (nil) or failed. A part whose request was cancelled before its transaction began is
// not run.
func (c *committer) commit(p *part) error {
	p.done = make(chan error, 1)
	c.mu.Lock()
	c.waiting = append(c.waiting, p)
	c.mu.Unlock()
	for {
		select {
		case err := <-p.done:
			return err
		default:
		}
		select {
		case err := <-p.done:
			return err
		case c.slots <- struct{}{}:
		}
		parts := c.take()
		if len(parts) == 0 {
			// Nothing waits, so p was taken by a transaction in flight.
			<-c.slots
			return <-p.done
		}
		c.runInSlot(parts)
	}
}

// errCommitPanicked answers the parts of a transaction whose commit panicked.
var errCommitPanicked = errors.New("accept: the commit failed unexpectedly")

// runInSlot runs parts and then frees the slot it holds. A panic (a bug) still frees the
// slot and answers every part, so that the requests waiting on it fail instead of
// waiting for good, and the requests after them still commit.
func (c *committer) runInSlot(parts []*part) {
	defer func() { <-c.slots }()
	defer func() {
		if r := recover(); r != nil {
			for _, p := range parts {
				select {
				case p.done <- errCommitPanicked:
				default: // answered already
				}
			}
			panic(r)
		}
	}()
	c.run(parts)
}

// take removes from the queue the parts of the next transaction: those waiting, in
// order, up to maxAlertsPerCommit alerts (at least one part).
func (c *committer) take() []*part {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, alerts := 0, 0
	for n < len(c.waiting) && (n == 0 || alerts+c.waiting[n].alerts <= maxAlertsPerCommit) {
		alerts += c.waiting[n].alerts
		n++
	}
	parts := slices.Clone(c.waiting[:n])
	c.waiting = slices.Delete(c.waiting, 0, n)
	return parts
}

// run commits parts in one transaction, and answers each. When that fails within its
// time while the database answers, what failed is one part's own writes (a value the
// database refuses): each part whose request still waits then commits alone, so that
// one webhook cannot fail those it came with. A transaction that ran out of time (a lock
// that another replica holds long) is not run again part by part: that would hold the
// slot for as many times as long.
func (c *committer) run(parts []*part) {
	live := parts[:0:0]
	for _, p := range parts {
		if err := p.ctx.Err(); err != nil {
			p.done <- err
			continue
		}
		live = append(live, p)
	}
	if len(live) == 0 {
		return
	}
	err := c.together(live)
	if err != nil && len(live) > 1 && !errors.Is(err, context.DeadlineExceeded) && c.ping() == nil {
		for _, p := range live {
			if err := p.ctx.Err(); err != nil {
				p.done <- err
				continue
			}
			p.done <- c.together([]*part{p})
		}
		return
	}
	for _, p := range live {
		p.done <- err
	}
}

func (c *committer) ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return c.store.Ping(ctx)
}

// together commits parts in one transaction.
func (c *committer) together(live []*part) error {
	nkeys, ngroups := 0, 0
	for _, p := range live {
		nkeys, ngroups = nkeys+len(p.keys), ngroups+len(p.chunk)
	}
	keys, groups := make([]store.ClaimKey, 0, nkeys), make([]*group, 0, ngroups)
	heartbeats := map[string]time.Time{} // by source, when its last part came
	notifications, bodies := 0, 0
	for _, p := range live {
		keys = append(keys, p.keys...)
		groups = append(groups, p.chunk...)
		for _, source := range p.heartbeats {
			if p.now.After(heartbeats[source]) {
				heartbeats[source] = p.now
			}
		}
		notifications += len(p.chunk)
		bodies += len(p.batches.bodies)
	}
	now := live[0].now
	// Replicas on one database decide one after the other on the same alert, and
	// enqueue to one queue in order (ARCHITECTURE.md, invariant 3). SQLite's one
	// writer needs no locks: the keys are not even hashed there.
	var locks []store.LockKey
	var queues []store.QueueKey
	if c.store.Replicated() {
		queues = queueKeys(groups)
		locks = lockKeys(keys, queues)
	}
	// The transaction's context is none of the requests': one going away must not undo
	// the others. The store bounds the transaction's time.
	return c.store.Update(context.Background(), func(tx *store.Tx) error {
		// At most one notification per group: its id, and its queue's hold, come with
		// the reads.
		tx.Reserve(notifications, bodies, queues)
		claims, err := tx.ClaimsOf(keys, locks...)
		if err != nil {
			return err
		}
		// In one order, so that two replicas writing the same rows never deadlock.
		for _, source := range slices.Sorted(maps.Keys(heartbeats)) {
			if err := tx.TouchHeartbeat(source, heartbeats[source]); err != nil {
				return err
			}
		}
		d := decision{claims: claims, made: make(map[store.ClaimKey]int, len(keys))}
		d.Claims = make([]store.NewClaim, 0, len(keys))
		d.Notifications = make([]store.NewNotification, 0, notifications)
		d.Batches = make([][]byte, 0, bodies)
		for _, p := range live {
			p.tally = newTally()
			before := len(d.Notifications)
			d.decideChunk(p.chunk, p.batches, p.policy, p.now, p.source, &p.tally)
			p.notifications = len(d.Notifications) - before
		}
		_, err = tx.EnqueueAll(d.Enqueued, now)
		return err
	})
}
