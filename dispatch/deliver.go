package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"golang.org/x/time/rate"

	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/store"
)

// outcome is what one attempt means for the worker's next steps.
type outcome struct {
	// pauseUntil holds back the whole receiver: it rate limits us, or the store cannot
	// record outcomes (delivering more would only repeat them).
	pauseUntil time.Time
	// retried means the notification waits for another attempt, and with it the later
	// ones of its host group.
	retried bool
	// folded are the other notifications the attempt's message carried, sent with it.
	folded []int64
}

// deliver makes one attempt and records its outcome. When candidates holds notifications (the
// receiver is a Folder and behind its pace), the attempt's message also carries as many
// of them, in order, as fit; on success they are sent with n, else they stay pending.
func (d *Dispatcher) deliver(ctx context.Context, w *worker, logger *slog.Logger, n *store.Notification, candidates []*store.Notification) outcome {
	set := d.current.Load()
	maxAge := set.global.MaxRetryAge
	rcv, ok := set.receivers[n.Receiver]
	if !ok {
		return outcome{} // removed by a reload; the worker is being stopped
	}
	logger = logger.With("notification", n.ID)
	if partial, ok := w.unrecorded[n.ID]; ok {
		// Delivered already; only the record of it failed. Record it, don't resend it.
		now := d.now()
		return d.finishSent(w, n, nil, partial, now, now)
	}
	msg, err := d.message(rcv, n)
	if err != nil {
		return d.finishDead(w, logger, n, "permanent", err, time.Time{})
	}
	var folded []*store.Notification
	if f, ok := rcv.(receivers.Folder); ok && len(candidates) > 0 {
		if m, carried, err := d.digest(f, rcv, msg, candidates); err != nil {
			// A digest that does not render: n goes alone, and fails alone if it must.
			logger.Warn("Cannot fold notifications into a digest", "err", err)
		} else {
			msg, folded = m, carried
		}
	}
	if rl, ok := rcv.(receivers.RateLimited); ok {
		perSecond, burst := rl.RateLimit()
		if wait := w.pace.reserve(perSecond, burst, time.Now()); wait > 0 {
			d.metrics.waited.WithLabelValues(n.Receiver, "rate_limit").Add(wait.Seconds())
			// What was sent is recorded before waiting, not after.
			if pause := d.record(w, logger); !pause.IsZero() {
				return outcome{pauseUntil: pause}
			}
			sleep(ctx, wait, nil)
			if ctx.Err() != nil {
				return outcome{} // shutting down: it stays pending
			}
		}
	}

	// The attempt is not cut short by shutdown: it is bounded by its own timeout, and
	// shutdown waits for it, so that a notification is not sent and then forgotten.
	attemptCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), attemptTimeout)
	start := d.now()
	err = rcv.Send(attemptCtx, msg)
	cancel()
	now := d.now()
	d.metrics.attemptDuration.WithLabelValues(n.Receiver).Observe(now.Sub(start).Seconds())

	var throttled *receivers.ThrottledError
	switch {
	case err == nil || receivers.IsPartial(err):
		w.throttles = 0
		return d.finishSent(w, n, folded, err, start, now)
	case receivers.IsPermanent(err):
		return d.finishDead(w, logger, n, "permanent", err, start)
	case retriesExhausted(err, n.Attempts+1):
		return d.finishDead(w, logger, n, "exhausted", fmt.Errorf("gave up after %d attempts: %w", n.Attempts+1, err), start)
	case now.Sub(n.CreatedAt) >= maxAge.Std():
		return d.finishDead(w, logger, n, "expired", fmt.Errorf("gave up after max_retry_age (%s): %w", maxAge, err), start)
	case errors.As(err, &throttled):
		w.throttles++
		wait := throttled.RetryAfter
		if wait <= 0 {
			wait = backoff(w.throttles)
		}
		logger.Warn("Receiver is rate limiting", "retry_in", wait, "err", err)
		d.metrics.waited.WithLabelValues(n.Receiver, "retry_after").Add(wait.Seconds())
		next := now.Add(wait)
		return outcome{pauseUntil: later(next, d.retry(w, logger, n, next, true, err, start, now)), retried: true}
	default:
		wait := backoff(n.Attempts + 1)
		logger.Warn("Delivery failed, will retry", "attempt", n.Attempts+1, "retry_in", wait, "err", err)
		return outcome{pauseUntil: d.retry(w, logger, n, now.Add(wait), false, err, start, now), retried: true}
	}
}

// finishSent notes a delivery of n and the notifications folded into its message, made
// by the attempt that started at start, to be recorded with the worker's others
// (record); partial, when not nil, says which destinations refused it.
func (d *Dispatcher) finishSent(w *worker, n *store.Notification, folded []*store.Notification, partial error, start, now time.Time) outcome {
	w.sent = append(w.sent, delivery{n: n, folded: folded, partial: partial, started: start, at: now})
	ids := make([]int64, len(folded))
	for i, f := range folded {
		ids[i] = f.ID
	}
	return outcome{folded: ids}
}

// delivery is a notification sent and not recorded yet.
type delivery struct {
	n       *store.Notification
	folded  []*store.Notification
	partial error
	// started is when its attempt started, at when it ended.
	started, at time.Time
}

// Deliveries are recorded in batches: one transaction for up to maxUnrecorded of them,
// whose attempts started within recordWithin of each other. Waiting for a commit after
// each would hold a fast receiver to one delivery per commit (measured on SQLite under a
// storm: 90 a second against 1,300 notifications enqueued); an attempt slower than that
// is recorded at once. A crash loses the record of these, not the notifications: they are
// sent again (at least once).
const (
	maxUnrecorded = batchSize
	recordWithin  = 20 * time.Millisecond
)

// recordDue reports whether the worker's unrecorded deliveries should be recorded now.
func (w *worker) recordDue(now time.Time) bool {
	return len(w.sent) >= maxUnrecorded || (len(w.sent) > 0 && now.Sub(w.sent[0].started) >= recordWithin)
}

// record writes the worker's unrecorded deliveries to the store in one transaction, and
// counts them once they are stored. It returns when to try the store again if that
// failed, or now if the lease was lost; zero otherwise.
func (d *Dispatcher) record(w *worker, logger *slog.Logger) time.Time {
	if len(w.sent) == 0 {
		return time.Time{}
	}
	batch := w.sent
	w.sent = nil
	now := d.now()
	records := make([]store.Delivery, len(batch))
	for i, s := range batch {
		records[i] = store.Delivery{ID: s.n.ID, Note: note(s.partial), Duration: s.at.Sub(s.started)}
		for _, f := range s.folded {
			records[i].Folded = append(records[i].Folded, f.ID)
		}
	}
	err := d.store.MarkSentAll(context.Background(), records, now)
	if errors.Is(err, store.ErrLeaseLost) {
		return d.leaseLost(w, logger, now).pauseUntil
	}
	if err != nil {
		// Delivered but not recorded: remember them, so that this process records them
		// later rather than delivering them again, and back off from the store.
		for _, s := range batch {
			for _, sent := range append([]*store.Notification{s.n}, s.folded...) {
				w.unrecorded[sent.ID] = s.partial
			}
		}
		logger.Error("Cannot record deliveries; they are not sent again while alertrouter runs", "notifications", len(batch), "err", err)
		return w.storeFailed(now)
	}
	w.storeFailures = 0
	for i, s := range batch {
		logger := logger.With("notification", s.n.ID)
		for _, sent := range append([]*store.Notification{s.n}, s.folded...) {
			delete(w.unrecorded, sent.ID)
			d.metrics.sent.WithLabelValues(sent.Receiver).Inc()
			d.metrics.deliveryLatency.WithLabelValues(sent.Receiver).Observe(s.at.Sub(sent.CreatedAt).Seconds())
		}
		d.metrics.folded.WithLabelValues(s.n.Receiver).Add(float64(len(s.folded)))
		switch {
		case s.partial != nil:
			d.metrics.failed.WithLabelValues(s.n.Receiver, "partial").Inc()
			logger.Error("Notification sent, but not to every destination", "err", s.partial)
		case len(s.folded) > 0:
			logger.Info("Notifications sent as one digest", "folded", records[i].Folded, "attempts", s.n.Attempts+1)
		default:
			logger.Debug("Notification sent", "attempts", s.n.Attempts+1)
		}
	}
	return time.Time{}
}

func note(partial error) string {
	if partial == nil {
		return ""
	}
	return partial.Error()
}

// leaseLost stops the worker's batch when the store refused an outcome because another
// replica took over the receiver (this one stalled past the lease): the new holder
// delivers the row again, since its outcome was not recorded (at least once). The worker
// asks for the lease again before anything else.
func (d *Dispatcher) leaseLost(w *worker, logger *slog.Logger, now time.Time) outcome {
	logger.Warn("Another replica took over the receiver; its outcome was not recorded here")
	w.leased.Store(false) // keepReceiverLease takes it again if nobody else has
	return outcome{pauseUntil: now}
}

// message is n's message for rcv: decoded (from the shared batches), with the action
// links rcv shows.
func (d *Dispatcher) message(rcv receivers.Receiver, n *store.Notification) (*receivers.Message, error) {
	msg, err := d.batches.decode(n)
	if err != nil {
		return nil, err
	}
	if l, ok := rcv.(receivers.ActionLinked); ok && d.links != nil {
		if show, asButtons := l.ActionLinks(); show {
			d.links(msg, asButtons)
		}
	}
	return msg, nil
}

// digest makes one message of msg (n's) and as many of the candidates, in order, as the
// receiver fits in one message, and returns it with the candidates it carries. A
// candidate that cannot be decoded ends the run (the worker kills it in its turn): what
// follows it in its host group must not overtake it.
func (d *Dispatcher) digest(f receivers.Folder, rcv receivers.Receiver, msg *receivers.Message, candidates []*store.Notification) (*receivers.Message, []*store.Notification, error) {
	msgs := []*receivers.Message{msg}
	for _, c := range candidates {
		m, err := d.message(rcv, c)
		if err != nil {
			break
		}
		msgs = append(msgs, m)
	}
	folded, k, err := receivers.Fold(f, msgs)
	if err != nil {
		return nil, nil, fmt.Errorf("render a digest: %w", err)
	}
	return folded, candidates[:k-1], nil
}

// retry records a failed or throttled attempt, which started at start; like every
// outcome, it is counted only once it is stored. It returns when to try again if the store
// failed, zero otherwise.
func (d *Dispatcher) retry(w *worker, logger *slog.Logger, n *store.Notification, next time.Time, throttled bool, cause error, start, now time.Time) time.Time {
	a := store.Attempt{At: now, Duration: now.Sub(start), Error: cause.Error()}
	if err := d.store.MarkRetry(context.Background(), n.ID, next, throttled, a); err != nil {
		if errors.Is(err, store.ErrLeaseLost) {
			return d.leaseLost(w, logger, now).pauseUntil
		}
		logger.Error("Cannot schedule a retry", "err", err)
		return w.storeFailed(now)
	}
	w.storeFailures = 0
	if throttled {
		d.metrics.throttled.WithLabelValues(n.Receiver).Inc()
	} else {
		d.metrics.failed.WithLabelValues(n.Receiver, "retryable").Inc()
	}
	return time.Time{}
}

// finishDead gives up on n after the attempt that started at start (now, when n could not
// even be tried).
func (d *Dispatcher) finishDead(w *worker, logger *slog.Logger, n *store.Notification, reason string, cause error, start time.Time) outcome {
	now := d.now()
	if start.IsZero() {
		start = now
	}
	if err := d.store.MarkDead(context.Background(), n.ID, store.Attempt{At: now, Duration: now.Sub(start), Error: cause.Error()}); err != nil {
		if errors.Is(err, store.ErrLeaseLost) {
			return d.leaseLost(w, logger, now)
		}
		logger.Error("Cannot record a dead notification", "err", err)
		return outcome{pauseUntil: w.storeFailed(now)}
	}
	w.storeFailures = 0
	d.metrics.failed.WithLabelValues(n.Receiver, reason).Inc()
	d.metrics.dead.WithLabelValues(n.Receiver).Inc()
	logger.Error("Notification is dead, giving up", "attempts", n.Attempts+1, "alerts", n.AlertNames, "err", cause)
	return outcome{}
}

// retriesExhausted reports whether err allows no more attempts than the attempts made.
func retriesExhausted(err error, attempts int) bool {
	limit, ok := receivers.RetryLimit(err)
	return ok && attempts >= limit
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// backoff is the wait before attempt number attempt+1: exponential from minBackoff, capped
// at maxBackoff, with "equal jitter" (half fixed, half random) so that retries after an
// outage do not arrive in lockstep.
func backoff(attempt int) time.Duration {
	d := maxBackoff
	if attempt < 20 {
		d = min(minBackoff<<max(attempt-1, 0), maxBackoff)
	}
	return d/2 + rand.N(d/2+1)
}

// pacer spaces out a worker's attempts to a receiver's declared rate limit. It runs on
// the real clock, not the dispatcher's injectable one: it paces real requests.
type pacer struct {
	limiter *rate.Limiter
}

// reserve takes a token and says how long to wait for it.
func (p *pacer) reserve(perSecond float64, burst int, now time.Time) time.Duration {
	return p.limit(perSecond, burst).ReserveN(now, 1).DelayFrom(now)
}

// behind reports whether the next attempt would have to wait for a token.
func (p *pacer) behind(perSecond float64, burst int, now time.Time) bool {
	return p.limit(perSecond, burst).TokensAt(now) < 1
}

// limit is the limiter for the receiver's current limit. A changed limit (a reload) starts
// with a full bucket.
func (p *pacer) limit(perSecond float64, burst int) *rate.Limiter {
	if p.limiter == nil || p.limiter.Limit() != rate.Limit(perSecond) || p.limiter.Burst() != burst {
		p.limiter = rate.NewLimiter(rate.Limit(perSecond), burst)
	}
	return p.limiter
}
