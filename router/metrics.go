package router

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertrouter/alertrouter/store"
)

// metrics are alertrouter's own metrics, registered on the registerer passed to New.
type metrics struct {
	alertsReceived    *prometheus.CounterVec
	webhookRequests   *prometheus.CounterVec
	webhookDuration   prometheus.Histogram
	defaultRouted     *prometheus.CounterVec
	enqueued          *prometheus.CounterVec
	suppressed        *prometheus.CounterVec
	sent              *prometheus.CounterVec
	failed            *prometheus.CounterVec
	throttled         *prometheus.CounterVec
	waited            *prometheus.CounterVec
	dead              *prometheus.CounterVec
	deliveryLatency   *prometheus.HistogramVec
	attemptDuration   *prometheus.HistogramVec
	reloadSuccess     prometheus.Gauge
	reloadSuccessTime prometheus.Gauge
	heartbeats        *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	const ns = "alertrouter"
	m := &metrics{
		alertsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "alerts_received_total",
			Help: "Alerts received in accepted webhooks, by status.",
		}, []string{"status"}),
		webhookRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "webhook_requests_total",
			Help: "Webhook requests, by HTTP status code answered.",
		}, []string{"code"}),
		webhookDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Name: "webhook_request_duration_seconds",
			Help:    "Time to answer a webhook request, commit included.",
			Buckets: []float64{.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5},
		}),
		heartbeats: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "heartbeats_received_total",
			Help: "Webhooks that carried the watchdog's firing heartbeat alert, by source.",
		}, []string{"source"}),
		defaultRouted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "alerts_default_routed_total",
			Help: "Alerts sent to default_receivers because they have no hostgroup label or match no route.",
		}, []string{"reason"}),
		enqueued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "notifications_enqueued_total",
			Help: "Notifications committed to the outbox, by receiver.",
		}, []string{"receiver"}),
		suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "alerts_suppressed_total",
			Help: "Alerts not sent to a receiver by the dedupe decision, by reason.",
		}, []string{"receiver", "reason"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "notifications_sent_total",
			Help: "Notifications delivered, by receiver.",
		}, []string{"receiver"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "notifications_failed_total",
			Help: "Failed delivery attempts, by receiver and reason: retryable (retried), permanent or expired (dead), partial (sent, but some destinations refused it).",
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
		reloadSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Name: "config_last_reload_successful",
			Help: "Whether the last configuration reload attempt was successful.",
		}),
		reloadSuccessTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Name: "config_last_reload_success_timestamp_seconds",
			Help: "Timestamp of the last successful configuration reload.",
		}),
	}
	reg.MustRegister(m.alertsReceived, m.webhookRequests, m.webhookDuration, m.defaultRouted, m.heartbeats, m.enqueued, m.suppressed,
		m.sent, m.failed, m.throttled, m.waited, m.dead, m.deliveryLatency, m.attemptDuration,
		m.reloadSuccess, m.reloadSuccessTime)
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
