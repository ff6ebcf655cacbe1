package dispatch

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertrouter/alertrouter/store"
)

// metrics are the delivery metrics, registered on the registerer passed to New.
type metrics struct {
	sent            *prometheus.CounterVec
	folded          *prometheus.CounterVec
	failed          *prometheus.CounterVec
	throttled       *prometheus.CounterVec
	waited          *prometheus.CounterVec
	dead            *prometheus.CounterVec
	deliveryLatency *prometheus.HistogramVec
	attemptDuration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	const ns = "alertrouter"
	m := &metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "notifications_sent_total",
			Help: "Notifications delivered, by receiver.",
		}, []string{"receiver"}),
		folded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "notifications_folded_total",
			Help: "Notifications delivered folded into another's digest message (also counted as sent), by receiver: more were due than its rate limit allows.",
		}, []string{"receiver"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "notifications_failed_total",
			Help: "Failed delivery attempts, by receiver and reason: retryable (retried), permanent, expired or exhausted (dead; exhausted: an answer worth only a few retries kept coming), partial (sent, but some destinations refused it).",
		}, []string{"receiver", "reason"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "notifications_throttled_total",
			Help: "Delivery attempts the receiver rate limited (retried after the wait it asked for), by receiver.",
		}, []string{"receiver"}),
		waited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "receiver_wait_seconds_total",
			Help: "Seconds deliveries waited, by receiver and reason: rate_limit (our own pacing) or retry_after (the destination asked).",
		}, []string{"receiver", "reason"}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "notifications_dead_total",
			Help: "Notifications given up on (permanent error or max_retry_age), by receiver.",
		}, []string{"receiver"}),
		deliveryLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "notification_delivery_latency_seconds",
			Help:    "Time from a notification's enqueueing to its delivery, by receiver.",
			Buckets: []float64{.005, .01, .05, .1, .5, 1, 5, 15, 60, 300, 1800, 7200},
		}, []string{"receiver"}),
		attemptDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "notification_attempt_duration_seconds",
			Help:    "Duration of one delivery attempt, by receiver.",
			Buckets: prometheus.DefBuckets,
		}, []string{"receiver"}),
	}
	reg.MustRegister(m.sent, m.folded, m.failed, m.throttled, m.waited, m.dead, m.deliveryLatency, m.attemptDuration)
	return m
}

// outboxCollector reports the outbox depth per receiver, read from the store at scrape time.
// Configured receivers with an empty outbox report 0 rather than nothing.
type outboxCollector struct {
	store     *store.Store
	logger    *slog.Logger
	receivers func() []string
	desc      *prometheus.Desc
}

func newOutboxCollector(s *store.Store, logger *slog.Logger, receivers func() []string) *outboxCollector {
	return &outboxCollector{store: s, logger: logger, receivers: receivers, desc: prometheus.NewDesc(
		"alertrouter_outbox_pending", "Notifications waiting for delivery, by receiver.", []string{"receiver"}, nil)}
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	depth, err := c.store.PendingByReceiver(ctx)
	if err != nil {
		c.logger.Error("Cannot read outbox depth", "err", err)
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for _, r := range c.receivers() {
		if _, ok := depth[r]; !ok {
			depth[r] = 0
		}
	}
	for r, n := range depth {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), r)
	}
}
