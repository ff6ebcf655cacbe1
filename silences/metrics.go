package silences

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// behindDesc is alertrouter_silences_behind: read from the store at scrape time, so that
// every replica reports the same (the leader syncs, any replica may be scraped).
var behindDesc = prometheus.NewDesc("alertrouter_silences_behind",
	"Active silences made through alertrouter that the Alertmanager does not have as they are now (not made yet, behind an extension, or failing).",
	[]string{"alertmanager"}, nil)

// metrics are the silencer's: its failed attempts, and the silences each Alertmanager lacks.
type metrics struct {
	failures *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, s *Silencer) *metrics {
	m := &metrics{failures: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "alertrouter_silence_sync_failures_total",
		Help: "Failed attempts at making, extending, expiring or checking a silence on an Alertmanager.",
	}, []string{"alertmanager"})}
	reg.MustRegister(m.failures, behindCollector{s})
	return m
}

type behindCollector struct{ s *Silencer }

func (c behindCollector) Describe(ch chan<- *prometheus.Desc) { ch <- behindDesc }

// Collect reports every configured Alertmanager, 0 when it lacks nothing; nothing when the
// store cannot say (a scrape must not wait on a database that is down).
func (c behindCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	behind, err := c.s.store.SilencesBehind(ctx, c.s.now())
	if err != nil {
		return
	}
	for _, am := range c.s.configuredAlertmanagers() {
		ch <- prometheus.MustNewConstMetric(behindDesc, prometheus.GaugeValue, float64(behind[am]), am)
	}
}
