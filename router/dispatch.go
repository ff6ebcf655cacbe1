package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/template"

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
	storeErrorWait = 5 * time.Second
)

// dispatcher drains the outbox: one worker per configured receiver, so that a slow or
// rate-limited destination never holds up the others. Workers follow config reloads.
type dispatcher struct {
	s *Server

	mu      sync.Mutex
	workers map[string]*worker
	wg      sync.WaitGroup
	ctx     context.Context // set by run; workers stop taking work when it is done
}

type worker struct {
	name   string
	wake   chan struct{}
	cancel context.CancelFunc
	// Only the worker's goroutine touches these.
	// throttles counts consecutive rate-limit answers, to back off when they come
	// without Retry-After.
	throttles int
	// pace spaces out attempts for receivers that declare a rate limit.
	pace bucket
}

// bucket is a token bucket. It runs on the real clock, not the server's injectable one:
// it paces real requests.
type bucket struct {
	rate   float64
	burst  int
	tokens float64
	last   time.Time
}

// reserve takes a token and says how long to wait for it; it follows limit changes.
func (b *bucket) reserve(rate float64, burst int, now time.Time) time.Duration {
	if b.rate != rate || b.burst != burst {
		*b = bucket{rate: rate, burst: burst, tokens: float64(burst), last: now}
	}
	b.tokens = min(float64(b.burst), b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

// outcome is what one attempt means for the worker's next steps.
type outcome struct {
	// pauseUntil holds back the whole receiver: it rate limits us, or the store cannot
	// record outcomes (delivering more would only repeat them).
	pauseUntil time.Time
	// retried means the notification waits for another attempt, and with it the later
	// ones of its host group.
	retried bool
}

func newDispatcher(s *Server) *dispatcher {
	return &dispatcher{s: s, workers: map[string]*worker{}}
}

// run starts the workers and blocks until ctx is done and every worker has finished
// its in-flight attempt.
func (d *dispatcher) run(ctx context.Context) {
	d.mu.Lock()
	d.ctx = ctx
	d.mu.Unlock()
	d.sync(d.s.runtime.Load())
	<-ctx.Done()
	d.wg.Wait()
}

// sync starts a worker for every receiver of rt and stops those of receivers that are
// gone. Rows of a removed receiver stay pending until they expire, so that re-adding the
// receiver (or undoing a typo) loses nothing.
func (d *dispatcher) sync(rt *runtime) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx == nil || d.ctx.Err() != nil {
		return
	}
	for name, w := range d.workers {
		if _, ok := rt.receivers[name]; !ok {
			w.cancel()
			delete(d.workers, name)
		}
	}
	for name := range rt.receivers {
		if _, ok := d.workers[name]; ok {
			continue
		}
		ctx, cancel := context.WithCancel(d.ctx)
		w := &worker{name: name, wake: make(chan struct{}, 1), cancel: cancel}
		d.workers[name] = w
		d.wg.Go(func() { d.work(ctx, w) })
	}
}

// notify wakes the workers of receivers that just got new notifications.
func (d *dispatcher) notify(receivers map[string]int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for name := range receivers {
		if w, ok := d.workers[name]; ok {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
}

func (d *dispatcher) work(ctx context.Context, w *worker) {
	logger := d.s.logger.With("receiver", w.name)
	var pausedUntil time.Time
	for ctx.Err() == nil {
		if now := d.s.now(); now.Before(pausedUntil) {
			sleep(ctx, pausedUntil.Sub(now), w.wake)
			continue
		}
		due, err := d.s.store.Due(ctx, w.name, d.s.now(), batchSize)
		if err != nil {
			if ctx.Err() == nil {
				logger.Error("Cannot read the outbox", "err", err)
			}
			sleep(ctx, storeErrorWait, nil)
			continue
		}
		// Host groups whose oldest notification is waiting for a retry: their later ones
		// in this batch wait too (the store has pushed them back already).
		held := map[string]bool{}
		for i := range due {
			if ctx.Err() != nil {
				return
			}
			if held[due[i].Hostgroup] {
				continue
			}
			out := d.deliver(ctx, w, logger, &due[i])
			if out.retried {
				held[due[i].Hostgroup] = true
			}
			if pausedUntil = out.pauseUntil; !pausedUntil.IsZero() {
				break
			}
		}
		if !pausedUntil.IsZero() || len(due) == batchSize {
			continue
		}
		wait := idlePoll
		if next, ok, err := d.s.store.NextDue(ctx, w.name); err == nil && ok {
			wait = min(max(next.Sub(d.s.now()), 0), idlePoll)
		}
		sleep(ctx, wait, w.wake)
	}
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

// deliver makes one attempt and records its outcome.
func (d *dispatcher) deliver(ctx context.Context, w *worker, logger *slog.Logger, n *store.Notification) outcome {
	rt := d.s.runtime.Load()
	maxAge := rt.cfg.Global.MaxRetryAge
	rcv, ok := rt.receivers[n.Receiver]
	if !ok {
		return outcome{} // removed by a reload; the worker is being stopped
	}
	logger = logger.With("notification", n.ID)
	var data template.Data
	if err := json.Unmarshal(n.Payload, &data); err != nil {
		return d.finishDead(logger, n, "permanent", fmt.Errorf("stored payload is unreadable: %w", err))
	}
	msg := &receivers.Message{ID: n.ID, Receiver: n.Receiver, Route: n.Route, Hostgroup: n.Hostgroup, Data: &data}
	if rl, ok := rcv.(receivers.RateLimited); ok {
		rate, burst := rl.RateLimit()
		if wait := w.pace.reserve(rate, burst, time.Now()); wait > 0 {
			d.s.metrics.waited.WithLabelValues(n.Receiver, "rate_limit").Add(wait.Seconds())
			sleep(ctx, wait, nil)
			if ctx.Err() != nil {
				return outcome{} // shutting down: it stays pending
			}
		}
	}

	// The attempt is not cut short by shutdown: it is bounded by its own timeout, and
	// shutdown waits for it, so that a notification is not sent and then forgotten.
	attemptCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), attemptTimeout)
	start := d.s.now()
	err := rcv.Send(attemptCtx, msg)
	cancel()
	now := d.s.now()
	d.s.metrics.attemptDuration.WithLabelValues(n.Receiver).Observe(now.Sub(start).Seconds())

	var throttled *receivers.ThrottledError
	switch {
	case err == nil || receivers.IsPartial(err):
		w.throttles = 0
		note := ""
		if err != nil {
			note = err.Error()
		}
		if err := d.s.store.MarkSent(context.Background(), n.ID, note, now); err != nil {
			// Delivered but not recorded: it will be delivered again (at least once),
			// after a pause, not in a loop.
			logger.Error("Cannot record a delivery", "err", err)
			return outcome{pauseUntil: now.Add(storeErrorWait)}
		}
		d.s.metrics.sent.WithLabelValues(n.Receiver).Inc()
		d.s.metrics.deliveryLatency.WithLabelValues(n.Receiver).Observe(now.Sub(n.CreatedAt).Seconds())
		if note != "" {
			d.s.metrics.failed.WithLabelValues(n.Receiver, "partial").Inc()
			logger.Error("Notification sent, but not to every destination", "err", note)
			return outcome{}
		}
		logger.Debug("Notification sent", "attempts", n.Attempts+1)
		return outcome{}
	case receivers.IsPermanent(err):
		return d.finishDead(logger, n, "permanent", err)
	case now.Sub(n.CreatedAt) >= maxAge.Std():
		return d.finishDead(logger, n, "expired", fmt.Errorf("gave up after max_retry_age (%s): %w", maxAge, err))
	case errors.As(err, &throttled):
		w.throttles++
		wait := throttled.RetryAfter
		if wait <= 0 {
			wait = backoff(w.throttles)
		}
		logger.Warn("Receiver is rate limiting", "retry_in", wait, "err", err)
		d.s.metrics.waited.WithLabelValues(n.Receiver, "retry_after").Add(wait.Seconds())
		next := now.Add(wait)
		return outcome{pauseUntil: later(next, d.retry(logger, n, next, true, err, now)), retried: true}
	default:
		wait := backoff(n.Attempts + 1)
		logger.Warn("Delivery failed, will retry", "attempt", n.Attempts+1, "retry_in", wait, "err", err)
		return outcome{pauseUntil: d.retry(logger, n, now.Add(wait), false, err, now), retried: true}
	}
}

// retry records a failed or throttled attempt; like every outcome, it is counted only
// once it is stored. It returns when to try again if the store failed, zero otherwise.
func (d *dispatcher) retry(logger *slog.Logger, n *store.Notification, next time.Time, throttled bool, cause error, now time.Time) time.Time {
	if err := d.s.store.MarkRetry(context.Background(), n.ID, next, throttled, cause.Error(), now); err != nil {
		logger.Error("Cannot schedule a retry", "err", err)
		return now.Add(storeErrorWait)
	}
	if throttled {
		d.s.metrics.throttled.WithLabelValues(n.Receiver).Inc()
	} else {
		d.s.metrics.failed.WithLabelValues(n.Receiver, "retryable").Inc()
	}
	return time.Time{}
}

func (d *dispatcher) finishDead(logger *slog.Logger, n *store.Notification, reason string, cause error) outcome {
	now := d.s.now()
	if err := d.s.store.MarkDead(context.Background(), n.ID, cause.Error(), now); err != nil {
		logger.Error("Cannot record a dead notification", "err", err)
		return outcome{pauseUntil: now.Add(storeErrorWait)}
	}
	d.s.metrics.failed.WithLabelValues(n.Receiver, reason).Inc()
	d.s.metrics.dead.WithLabelValues(n.Receiver).Inc()
	logger.Error("Notification is dead, giving up", "attempts", n.Attempts+1, "alerts", n.AlertNames, "err", cause)
	return outcome{}
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
