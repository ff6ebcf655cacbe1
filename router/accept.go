package router

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/dispatch"
	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/store"
)

// acceptResult summarises what one webhook produced.
type acceptResult struct {
	Alerts        int `json:"alerts"`
	Notifications int `json:"notifications"`
	Suppressed    int `json:"suppressed"`
	// Heartbeats counts the watchdog's heartbeat alerts, recorded and not routed.
	Heartbeats int `json:"heartbeats,omitempty"`
}

// group collects the alerts of one webhook that become one notification.
type group struct {
	receiver, route, hostgroup, status string
	alerts                             []*template.Alert
}

type groupKey struct{ receiver, route, hostgroup, status string }

// tally counts what one commit did, to be reported once it is committed.
type tally struct {
	enqueued   map[string]int
	suppressed map[[2]string]int // receiver, reason
}

func newTally() tally { return tally{enqueued: map[string]int{}, suppressed: map[[2]string]int{}} }

// maxAlertsPerCommit bounds the alerts of one commit, so that a huge webhook (100,000
// alerts took 5s to claim) does not hold the writer, and the webhooks behind it, for
// seconds. Splitting is safe: if a later commit fails the answer is 503, Alertmanager
// sends the whole webhook again, and dedupe drops what the earlier commits took.
const maxAlertsPerCommit = 5000

// accept routes every alert of a payload on its own, groups the results per (receiver,
// route, hostgroup, status), takes the dedupe decisions and enqueues the notifications
// in one transaction, or in several of at most maxAlertsPerCommit alerts: when it
// returns nil, every notification is durable (ARCHITECTURE.md, invariant 1).
func (s *Server) accept(ctx context.Context, rt *runtime, p *Payload, now time.Time) (acceptResult, error) {
	res := acceptResult{Alerts: len(p.Data.Alerts)}
	defaultRouted := map[string]int{}
	var groups []*group
	index := map[groupKey]*group{}
	heartbeats := map[string]bool{} // sources of firing heartbeats
	var skewed int
	var skew time.Duration
	for i := range p.Data.Alerts {
		a := &p.Data.Alerts[i]
		if ahead := a.StartsAt.Sub(now); ahead > rt.cfg.Global.MaxClockSkew.Std() {
			// Accepted all the same: refusing it would lose the page, and dedupe tells its
			// copies apart by startsAt alone.
			skewed, skew = skewed+1, max(skew, ahead)
		}
		ls := receivers.LabelSet(a.Labels)
		d := rt.routes.Route(ls)
		if d.Heartbeat {
			// The dead-man's switch listens for it; people never see it. A resolved
			// heartbeat is no sign of life.
			res.Heartbeats++
			if a.Status == string(model.AlertFiring) {
				heartbeats[config.HeartbeatSource(a.Labels, p.Data.ExternalURL)] = true
			}
			continue
		}
		if d.DefaultReason != "" {
			defaultRouted[d.DefaultReason]++
		}
		hostgroup := rt.routes.Hostgroup(ls)
		for _, tg := range d.Targets {
			k := groupKey{tg.Receiver, tg.Route, hostgroup, a.Status}
			g := index[k]
			if g == nil {
				g = &group{receiver: tg.Receiver, route: tg.Route, hostgroup: hostgroup, status: a.Status}
				index[k] = g
				groups = append(groups, g)
			}
			g.alerts = append(g.alerts, a)
		}
	}

	var woken []string
	defer func() { s.dispatcher.Notify(woken) }() // what was committed goes out, even if a later commit failed
	sources := slices.Sorted(maps.Keys(heartbeats))
	for i, chunk := range chunks(groups, maxAlertsPerCommit) {
		pt, err := newPart(ctx, rt, chunk, now, p.Data.ExternalURL)
		if err != nil {
			return acceptResult{}, err
		}
		if i == 0 {
			pt.heartbeats = sources
		}
		if err := s.commits.commit(pt); err != nil {
			return acceptResult{}, err
		}
		if i == 0 {
			for _, source := range sources {
				s.metrics.heartbeats.WithLabelValues(source).Inc()
			}
		}
		res.Notifications += pt.notifications
		for r, n := range pt.tally.enqueued {
			woken = append(woken, r)
			s.metrics.enqueued.WithLabelValues(r).Add(float64(n))
		}
		for k, n := range pt.tally.suppressed {
			s.metrics.suppressed.WithLabelValues(k[0], k[1]).Add(float64(n))
			res.Suppressed += n
		}
	}
	for reason, n := range defaultRouted {
		s.metrics.defaultRouted.WithLabelValues(reason).Add(float64(n))
	}
	if skewed > 0 {
		s.metrics.clockSkewed.Add(float64(skewed))
		s.logger.Warn("Alerts start in the future: the clock of the Prometheus that fired them is ahead of ours",
			"alerts", skewed, "ahead_by", skew.Round(time.Second), "max_clock_skew", rt.cfg.Global.MaxClockSkew, "external_url", p.Data.ExternalURL)
	}
	return res, nil
}

// chunks splits groups into commits of at most limit alerts; a group larger than that is
// split into notifications of at most limit alerts. There is always one chunk, so that
// heartbeats are recorded even when no alert is routed.
func chunks(groups []*group, limit int) [][]*group {
	var out [][]*group
	var cur []*group
	size := 0
	for _, g := range groups {
		for len(g.alerts) > 0 {
			if size == limit {
				out, cur, size = append(out, cur), nil, 0
			}
			n := min(len(g.alerts), limit-size)
			part := *g
			part.alerts = g.alerts[:n]
			cur, size = append(cur, &part), size+n
			g = &group{receiver: g.receiver, route: g.route, hostgroup: g.hostgroup, status: g.status, alerts: g.alerts[n:]}
		}
	}
	return append(out, cur)
}

// lockKeys are the locks a commit takes of the claims it decides on (each alert's claim
// at its receiver or, for a receiver with more than store.MaxClaimLocks alerts in the
// commit, the receiver's own lock, exclusive), and of the queues it may enqueue to.
func lockKeys(claims []store.ClaimKey, queues []store.QueueKey) []store.LockKey {
	locks := store.ClaimLocks(claims)
	for _, q := range queues {
		locks = append(locks, store.QueueLock(q.Receiver, q.Hostgroup))
	}
	return locks
}

// queueKeys are the queues a commit of groups may enqueue to.
func queueKeys(groups []*group) []store.QueueKey {
	queues := make([]store.QueueKey, len(groups))
	for i, g := range groups {
		queues[i] = store.QueueKey{Receiver: g.receiver, Hostgroup: g.hostgroup}
	}
	return queues
}

// claimKeys are the claims a commit of groups decides on.
func claimKeys(groups []*group) []store.ClaimKey {
	n := 0
	for _, g := range groups {
		n += len(g.alerts)
	}
	keys := make([]store.ClaimKey, 0, n)
	for _, g := range groups {
		for _, a := range g.alerts {
			keys = append(keys, store.ClaimKey{Receiver: g.receiver, Fingerprint: a.Fingerprint})
		}
	}
	return keys
}

// batches are the alerts of a commit's groups stored once: one batch per host group and
// status, which every receiver that gets some of those alerts shares.
type batches struct {
	bodies [][]byte
	// of each group, in order: its batch, and the index in it of each of its alerts
	batch []int
	index [][]int
	// size of each batch, in alerts
	size []int
}

// newBatches encodes the batches of groups.
func newBatches(groups []*group, hostgroupLabel, externalURL string) (*batches, error) {
	type key struct{ hostgroup, status string }
	type open struct {
		n     int
		batch *dispatch.Batch
		at    map[*template.Alert]int
	}
	b := &batches{batch: make([]int, len(groups)), index: make([][]int, len(groups))}
	byKey := map[key]*open{}
	var order []*open
	for gi, g := range groups {
		k := key{g.hostgroup, g.status}
		o := byKey[k]
		if o == nil {
			groupLabels := template.KV{}
			if g.hostgroup != "" {
				groupLabels[hostgroupLabel] = g.hostgroup
			}
			o = &open{n: len(order), batch: &dispatch.Batch{GroupLabels: groupLabels, ExternalURL: externalURL}, at: map[*template.Alert]int{}}
			byKey[k] = o
			order = append(order, o)
		}
		b.batch[gi] = o.n
		b.index[gi] = make([]int, len(g.alerts))
		for ai, a := range g.alerts {
			at, ok := o.at[a]
			if !ok {
				at = len(o.batch.Alerts)
				o.at[a] = at
				o.batch.Alerts = append(o.batch.Alerts, *a)
			}
			b.index[gi][ai] = at
		}
	}
	for _, o := range order {
		body, err := dispatch.EncodeBatch(o.batch)
		if err != nil {
			return nil, err
		}
		b.bodies = append(b.bodies, body)
		b.size = append(b.size, len(o.batch.Alerts))
	}
	return b, nil
}

// decision is what one transaction's dedupe decisions write, for the parts of all the
// webhooks it commits: each group's alerts that go out as one notification, the new
// claims, and the copies suppressed of alerts that a notification carries (from source,
// for its timeline). Groups decide in order, each seeing the claims of those before it,
// as read (claims) and as changed since (made): an alert that two routes send to one
// receiver, or that both Alertmanagers of a pair send at once, goes out once.
type decision struct {
	store.Enqueued
	claims map[store.ClaimKey]store.Claim
	made   map[store.ClaimKey]int // the notification, of this transaction's, that carries it
}

// decideChunk decides which alerts of each group of chunk, one webhook's part of the
// transaction, its receiver gets, and adds what the commit writes to d. The copies it
// suppresses count as one copy (one webhook) on each timeline they go on.
func (d *decision) decideChunk(chunk []*group, b *batches, p policy, now time.Time, source string, t *tally) {
	firstBatch := len(d.Batches)
	d.Batches = append(d.Batches, b.bodies...)
	type copyOf struct {
		notification int64 // or, when 0, enqueued: this transaction's
		enqueued     int
		reason       string
	}
	copies := map[copyOf]int{} // index in d.Suppressed
	suppressed := func(c copyOf) {
		if i, ok := copies[c]; ok {
			d.Suppressed[i].Alerts++
			return
		}
		copies[c] = len(d.Suppressed)
		d.Suppressed = append(d.Suppressed, store.Suppressed{NotificationID: c.notification, Enqueued: c.enqueued,
			Source: source, Reason: c.reason, Copies: 1, Alerts: 1})
	}
	for gi, g := range chunk {
		send := make(template.Alerts, 0, len(g.alerts))
		carried := make([]int, 0, len(g.alerts))
		held := make([]store.Claim, 0, len(g.alerts))
		var acks map[string]store.Ack
		claimed := make(map[string]bool, len(g.alerts))
		for ai, a := range g.alerts {
			if claimed[a.Fingerprint] { // the same alert twice in one payload
				t.suppressed[[2]string{g.receiver, suppressDuplicate}]++
				continue
			}
			claimed[a.Fingerprint] = true
			key := store.ClaimKey{Receiver: g.receiver, Fingerprint: a.Fingerprint}
			var pc *store.Claim
			if c, ok := d.claims[key]; ok {
				pc = &c
			}
			v := decide(pc, a, g.receiver, now, p)
			if v.claim != nil {
				c := *v.claim
				if pc != nil && c.StartsAt.Equal(pc.StartsAt) {
					c.Ack = pc.Ack // the episode's, for the parts after this one
				}
				d.claims[key] = c
			}
			if !v.send {
				t.suppressed[[2]string{g.receiver, v.reason}]++
				if n, ok := d.made[key]; ok {
					suppressed(copyOf{enqueued: n, reason: v.reason})
				} else if pc != nil && pc.NotificationID != 0 {
					suppressed(copyOf{notification: pc.NotificationID, reason: v.reason})
				}
				if v.claim != nil {
					delete(d.made, key)
					d.Claims = append(d.Claims, store.NewClaim{Claim: *v.claim, HeldBy: store.NotHeld})
				}
				continue
			}
			send = append(send, *a)
			carried = append(carried, b.index[gi][ai])
			held = append(held, *v.claim)
			if v.ack != nil {
				if acks == nil {
					acks = map[string]store.Ack{}
				}
				acks[a.Fingerprint] = *v.ack
			}
		}
		if len(send) == 0 {
			continue
		}
		n := len(d.Notifications)
		for _, c := range held {
			d.made[store.ClaimKey{Receiver: c.Receiver, Fingerprint: c.Fingerprint}] = n
			d.Claims = append(d.Claims, store.NewClaim{Claim: c, HeldBy: n})
		}
		d.Notifications = append(d.Notifications, store.NewNotification{
			Receiver: g.receiver, Route: g.route, Hostgroup: g.hostgroup, Status: g.status,
			AlertNames: dispatch.AlertNames(send), AlertCount: len(send),
			Batch: firstBatch + b.batch[gi], Alerts: allOrSome(carried, b.size[b.batch[gi]]), Acks: acks,
		})
		t.enqueued[g.receiver]++
	}
}

// allOrSome is indices, or nil when they are every alert of a batch of n, in order.
func allOrSome(indices []int, n int) []int {
	if len(indices) != n {
		return indices
	}
	for i, x := range indices {
		if x != i {
			return indices
		}
	}
	return nil
}
