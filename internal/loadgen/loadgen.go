// Package loadgen is alertrouter's load tooling, shared by the load generator (cmd/amload)
// and the benchmarks: the webhooks of a storm, and Prefill, which gives a store a history
// of a million alerts in a minute or two, through alertrouter's own webhook path.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/internal/amtest"
	"github.com/alertrouter/alertrouter/router"
	"github.com/alertrouter/alertrouter/store"
)

// Config is the configuration the figures in the README are measured with: every alert
// goes to two log receivers.
const Config = `
receivers:
  - {name: a, log: {}}
  - {name: b, log: {}}
routes:
  - hostgroup_regex: '.+'
    receivers: [a, b]
default_receivers: [a]
`

// StartsAt is when every load alert started.
var StartsAt = time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)

// Storm makes the webhooks of a storm: every alert is new (its instance label names the
// run, the webhook and the alert), so each is routed, claimed and enqueued, the router's
// worst case. A webhook's alerts share a host group, of hostgroups in turn.
type Storm struct {
	// Run tells this storm's alerts from an earlier one's, which dedupe would suppress.
	Run        string
	Alerts     int // per webhook
	Hostgroups int
}

// NewStorm is a storm of webhooks of alerts alerts, named for now.
func NewStorm(alerts, hostgroups int) Storm {
	return Storm{Run: strconv.FormatInt(time.Now().UnixNano(), 36), Alerts: alerts, Hostgroups: hostgroups}
}

// Webhook is the body of webhook n.
func (s Storm) Webhook(n int64) []byte {
	w := amtest.Webhook{
		Receiver: "alertrouter", GroupKey: `{}:{alertname="Load"}`, GroupLabels: map[string]string{"alertname": "Load"},
		ExternalURL: "http://amload:9093",
	}
	hostgroup := fmt.Sprintf("hg-%d", n%int64(max(s.Hostgroups, 1)))
	for i := range s.Alerts {
		w.Alerts = append(w.Alerts, amtest.Alert{
			Labels: map[string]string{"alertname": "Load", "hostgroup": hostgroup,
				"instance": fmt.Sprintf("load-%s-%d-%d", s.Run, n, i), "severity": "warning"},
			Annotations:  map[string]string{"summary": fmt.Sprintf("load test alert %d of webhook %d", i, n)},
			StartsAt:     StartsAt,
			GeneratorURL: "http://prometheus:9090/graph",
		})
	}
	return w.JSON()
}

// Prefill posts a storm of total new alerts (10 a webhook, 4 host groups) to alertrouter's
// webhook handler in this process, on st and with cfg, and waits until its dispatcher
// has delivered them all (log receivers' output is discarded): the store then holds the
// history a running alertrouter would have. progress, when not nil, gets a line every
// 100,000 alerts.
func Prefill(ctx context.Context, st *store.Store, cfg *config.Config, total int, progress io.Writer) error {
	srv, err := router.New(cfg, router.Options{
		Store: st, Logger: slog.New(slog.DiscardHandler), Registerer: prometheus.NewRegistry(), Stdout: io.Discard,
	})
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	var running sync.WaitGroup
	running.Go(func() { srv.Run(runCtx) })
	defer func() {
		stop()
		running.Wait()
	}()

	const perWebhook = 10
	storm := NewStorm(perWebhook, 4)
	handler := srv.Handler()
	webhooks := int64((total + perWebhook - 1) / perWebhook)
	var (
		next     atomic.Int64
		failures = make(chan error, 1)
		senders  sync.WaitGroup
	)
	start := time.Now()
	for range 16 {
		senders.Go(func() {
			for ctx.Err() == nil {
				n := next.Add(1)
				if n > webhooks {
					return
				}
				req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/webhook", strings.NewReader(string(storm.Webhook(n))))
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				handler.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					select {
					case failures <- fmt.Errorf("webhook %d: %d %s", n, w.Code, strings.TrimSpace(w.Body.String())):
					default:
					}
					return
				}
				if progress != nil && n%10_000 == 0 {
					fmt.Fprintf(progress, "prefill: %d alerts accepted in %s\n", n*perWebhook, time.Since(start).Round(time.Second))
				}
			}
		})
	}
	senders.Wait()
	select {
	case err := <-failures:
		return err
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Delivered means nothing pending: the dispatcher keeps draining meanwhile.
	for {
		pending, err := st.PendingByReceiver(ctx)
		if err != nil {
			return err
		}
		left := 0
		for _, n := range pending {
			left += n
		}
		if left == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), fmt.Errorf("%d notifications still pending", left))
		case <-time.After(100 * time.Millisecond):
		}
	}
	if progress != nil {
		fmt.Fprintf(progress, "prefill: %d alerts accepted and delivered in %s\n", webhooks*perWebhook, time.Since(start).Round(time.Second))
	}
	return nil
}
