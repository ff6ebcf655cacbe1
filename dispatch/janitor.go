package dispatch

import (
	"context"
	"fmt"
	"time"
)

// janitorInterval is how often old rows are pruned and abandoned ones expired.
const janitorInterval = time.Minute

// janitor tidies the store every janitorInterval until ctx is done, on the leader only.
func (d *Dispatcher) janitor(ctx context.Context) {
	t := time.NewTicker(janitorInterval)
	defer t.Stop()
	for {
		if d.Leader() { // once per cluster
			d.Tidy(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tidy prunes history past retention and expires pending notifications that nobody will
// deliver any more: their receiver was removed from the config. Configured receivers try
// each of their rows once more before giving up, even after a long downtime of the
// router. Run calls it every minute.
func (d *Dispatcher) Tidy(ctx context.Context) {
	global := d.current.Load().global
	now := d.now()
	cutoff := now.Add(-global.MaxRetryAge.Std())
	reason := fmt.Sprintf("gave up after max_retry_age (%s): receiver is not configured", global.MaxRetryAge)
	expired, err := d.store.Expire(ctx, d.receiverNames(), cutoff, reason, now)
	if err != nil && ctx.Err() == nil {
		d.logger.Error("Cannot expire old notifications", "err", err)
	}
	for _, e := range expired {
		d.metrics.dead.WithLabelValues(e.Receiver).Inc()
		d.logger.Error("Notification is dead, giving up: its receiver is not configured", "receiver", e.Receiver, "notification", e.ID)
	}
	n, c, err := d.store.Prune(ctx, now.Add(-global.Retention.Std()), now)
	if err != nil && ctx.Err() == nil {
		d.logger.Error("Cannot prune old rows", "err", err)
	}
	if n+c > 0 {
		d.logger.Info("Pruned rows past retention", "notifications", n, "claims", c)
	}
}
