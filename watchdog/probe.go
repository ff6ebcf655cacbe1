package watchdog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/alertrouter/alertrouter/receivers"
)

// Target kinds.
const (
	KindPrometheus   = "prometheus"
	KindAlertmanager = "alertmanager"
)

// probeResult is what one probe learned about a target.
type probeResult struct {
	err error
	// startTime is when the target process started; it changes on every restart.
	startTime time.Time
	// Prometheus only: whether the last config reload worked, and how many
	// Alertmanagers it sends to.
	reloadOK      bool
	alertmanagers int
}

// prober probes targets over HTTP; a whole probe, all its requests, is bounded by
// timeout, which is shorter than the interval.
type prober struct {
	client *http.Client
	// authorize gives each request its credentials; nil for none (or those in the URL).
	authorize func(*http.Request) error
	timeout   time.Duration
}

func (p *prober) probe(ctx context.Context, kind, base string) probeResult {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	// A base of http://prom:9090/ would make //-/healthy, which Prometheus redirects.
	base = strings.TrimRight(base, "/")
	switch kind {
	case KindPrometheus:
		return p.prometheus(ctx, base)
	default:
		return p.alertmanager(ctx, base)
	}
}

// prometheus checks /-/healthy and /-/ready (503 while it replays its WAL), then reads
// its start time and reload status, and how many Alertmanagers it has found.
func (p *prober) prometheus(ctx context.Context, base string) probeResult {
	for _, path := range []string{"/-/healthy", "/-/ready"} {
		if err := p.get(ctx, base+path, nil); err != nil {
			return probeResult{err: err}
		}
	}
	var info struct {
		Data struct {
			StartTime           time.Time `json:"startTime"`
			ReloadConfigSuccess bool      `json:"reloadConfigSuccess"`
		} `json:"data"`
	}
	if err := p.get(ctx, base+"/api/v1/status/runtimeinfo", &info); err != nil {
		return probeResult{err: err}
	}
	if info.Data.StartTime.IsZero() {
		return probeResult{err: fmt.Errorf("%s/api/v1/status/runtimeinfo has no startTime", receivers.URLWithoutPassword(base))}
	}
	var ams struct {
		Data struct {
			Active []json.RawMessage `json:"activeAlertmanagers"`
		} `json:"data"`
	}
	if err := p.get(ctx, base+"/api/v1/alertmanagers", &ams); err != nil {
		return probeResult{err: err}
	}
	return probeResult{startTime: info.Data.StartTime, reloadOK: info.Data.ReloadConfigSuccess, alertmanagers: len(ams.Data.Active)}
}

// alertmanager checks /-/healthy and reads /api/v2/status, whose uptime is in fact the
// time Alertmanager started.
func (p *prober) alertmanager(ctx context.Context, base string) probeResult {
	if err := p.get(ctx, base+"/-/healthy", nil); err != nil {
		return probeResult{err: err}
	}
	var status struct {
		Uptime time.Time `json:"uptime"`
	}
	if err := p.get(ctx, base+"/api/v2/status", &status); err != nil {
		return probeResult{err: err}
	}
	if status.Uptime.IsZero() {
		return probeResult{err: fmt.Errorf("%s/api/v2/status has no uptime", receivers.URLWithoutPassword(base))}
	}
	return probeResult{startTime: status.Uptime, reloadOK: true}
}

// get fetches url and decodes its JSON into v (when v is not nil). Errors name the
// URL without credentials.
func (p *prober) get(ctx context.Context, target string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", receivers.URLWithoutPassword(target), err)
	}
	if p.authorize != nil {
		if err := p.authorize(req); err != nil {
			return fmt.Errorf("GET %s: %w", receivers.URLWithoutPassword(target), err)
		}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		// The transport error repeats the URL, with credentials: say only what failed.
		return fmt.Errorf("GET %s: %s", receivers.URLWithoutPassword(target), transportReason(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("GET %s: reading the answer: %s", receivers.URLWithoutPassword(target), transportReason(err))
	}
	if resp.StatusCode != http.StatusOK {
		// A proxy in front may echo the request, credentials and all.
		excerpt := receivers.ScrubText(receivers.Excerpt(body, 200), receivers.RequestSecrets(req)...)
		return fmt.Errorf("GET %s: %s %s", receivers.URLWithoutPassword(target), resp.Status, excerpt)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			return fmt.Errorf("GET %s: %w", receivers.URLWithoutPassword(target), err)
		}
	}
	return nil
}

// transportReason is the cause of a client error without the URL it repeats, which
// may carry credentials.
func transportReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return "timed out"
		}
		return ue.Err.Error()
	}
	return err.Error()
}
