package watchdog

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	targetUp *prometheus.GaugeVec
	events   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, w *Watchdog) *metrics {
	m := &metrics{
		targetUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "alertrouter_watchdog_target_up",
			Help: "1 when the watchdog's last probe of the target succeeded, 0 when it failed.",
		}, []string{"kind", "target"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alertrouter_watchdog_events_total",
			Help: "Watchdog events sent to the watchdog receivers, by event and level.",
		}, []string{"event", "level"}),
	}
	reg.MustRegister(m.targetUp, m.events, &heartbeatCollector{w: w})
	return m
}

func (m *metrics) observeTarget(kind, name string, up bool) {
	v := 0.0
	if up {
		v = 1
	}
	m.targetUp.WithLabelValues(kind, name).Set(v)
}

// heartbeatCollector reports each source's silence at scrape time, from the store.
type heartbeatCollector struct{ w *Watchdog }

var heartbeatAgeDesc = prometheus.NewDesc("alertrouter_watchdog_heartbeat_age_seconds",
	"Seconds since the heartbeat alert last arrived from the source.", []string{"source"}, nil)

func (c *heartbeatCollector) Describe(ch chan<- *prometheus.Desc) { ch <- heartbeatAgeDesc }

func (c *heartbeatCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	seen, err := c.w.store.Heartbeats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(heartbeatAgeDesc, err)
		return
	}
	now := c.w.now()
	for source, at := range seen {
		ch <- prometheus.MustNewConstMetric(heartbeatAgeDesc, prometheus.GaugeValue, now.Sub(at).Seconds(), source)
	}
}
