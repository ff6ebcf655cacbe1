package router

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the intake's metrics (webhooks, routing, dedupe, reloads), registered on
// the registerer passed to New. Delivery metrics are the dispatcher's.
type metrics struct {
	alertsReceived    *prometheus.CounterVec
	webhookRequests   *prometheus.CounterVec
	webhookDuration   prometheus.Histogram
	defaultRouted     *prometheus.CounterVec
	enqueued          *prometheus.CounterVec
	suppressed        *prometheus.CounterVec
	reloadSuccess     prometheus.Gauge
	reloadSuccessTime prometheus.Gauge
	heartbeats        *prometheus.CounterVec
	clockSkewed       prometheus.Counter
	replicaConfigs    prometheus.Gauge
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
		clockSkewed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Name: "alerts_clock_skewed_total",
			Help: "Alerts whose startsAt was further ahead of alertrouter's clock than global.max_clock_skew: accepted, from a host whose clock is wrong.",
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
		reloadSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Name: "config_last_reload_successful",
			Help: "Whether the last configuration reload attempt was successful.",
		}),
		replicaConfigs: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Name: "replica_configs",
			Help: "Distinct configs among the live replicas on the shared database, this one's included: 1 when they agree (always on SQLite).",
		}),
		reloadSuccessTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Name: "config_last_reload_success_timestamp_seconds",
			Help: "Timestamp of the last successful configuration reload.",
		}),
	}
	reg.MustRegister(m.alertsReceived, m.webhookRequests, m.webhookDuration, m.heartbeats, m.defaultRouted, m.enqueued, m.suppressed, m.reloadSuccess, m.reloadSuccessTime, m.clockSkewed, m.replicaConfigs)
	return m
}
