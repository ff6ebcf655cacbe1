// Command amload posts Alertmanager webhook payloads to alertrouter at a given concurrency
// (and optionally a given rate) and prints throughput and latency percentiles.
//
//	go run ./cmd/amload --url=http://127.0.0.1:9095/webhook --concurrency=16 --duration=20s
//	go run ./cmd/amload --rate=500 --duration=20s      # 500 webhooks/s = 5,000 alerts/s
//
// Every alert is new (a unique instance label), so each is routed, claimed and enqueued:
// the router's worst case. Stop a run early with Ctrl-C.
//
// --serve-ceiling=ADDR runs, instead, the ceiling to compare alertrouter with: a server
// that reads and decodes each webhook exactly as alertrouter does (router.DecodePayload)
// and answers 200, storing nothing. What amload reaches against it is the most that HTTP
// and JSON allow on this machine:
//
//	go run ./cmd/amload --serve-ceiling=:9097 &
//	go run ./cmd/amload --url=http://127.0.0.1:9097/webhook --concurrency=32 --duration=20s
//
// --prefill=DIR (or a postgres:// URL) gives a store the history of --prefill.alerts new
// alerts (a million by default), through alertrouter's webhook path in this process, and
// delivers them to the receivers of --config.file (two log receivers, output discarded,
// by default), so that alertrouter can then be measured on a large database:
//
//	go run ./cmd/amload --prefill=/tmp/big      # about a minute on 2 cores
//	go run ./cmd/alertrouter serve --storage.path=/tmp/big --config.file=...
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alertrouter/alertrouter/internal/loadgen"
)

func main() {
	var (
		url         = flag.String("url", "http://127.0.0.1:9095/webhook", "alertrouter webhook URL")
		concurrency = flag.Int("concurrency", 16, "concurrent senders")
		duration    = flag.Duration("duration", 10*time.Second, "how long to send")
		rate        = flag.Float64("rate", 0, "webhooks per second across all senders; 0 sends as fast as answers come")
		perWebhook  = flag.Int("alerts", 10, "alerts per webhook")
		hostgroups  = flag.Int("hostgroups", 4, "distinct hostgroup values")
		token       = flag.String("bearer-token", "", "bearer token for the webhook")
		ceiling     = flag.String("serve-ceiling", "", "instead of sending, serve a /webhook on this address that only decodes and answers 200")
		prefill     = flag.String("prefill", "", "instead of sending, fill this storage directory (or postgres:// URL) with a history of new alerts")
		prefillN    = flag.Int("prefill.alerts", 1_000_000, "how many alerts --prefill accepts and delivers")
		configFile  = flag.String("config.file", "", "alertrouter config for --prefill (default: two log receivers)")
	)
	flag.Parse()
	if *prefill != "" {
		if err := runPrefill(*prefill, *configFile, *prefillN); err != nil {
			fmt.Fprintln(os.Stderr, "amload:", err)
			os.Exit(1)
		}
		return
	}
	if *ceiling != "" {
		if err := serveCeiling(*ceiling); err != nil {
			fmt.Fprintln(os.Stderr, "amload:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *concurrency}, Timeout: 30 * time.Second}
	var (
		seq       atomic.Int64
		failures  atomic.Int64
		mu        sync.Mutex
		latencies []time.Duration
		wg        sync.WaitGroup
	)
	storm := loadgen.NewStorm(*perWebhook, *hostgroups)
	tokens := pace(ctx, *rate)
	start := time.Now()
	for range *concurrency {
		wg.Go(func() {
			var mine []time.Duration
			for {
				if tokens != nil {
					if _, ok := <-tokens; !ok {
						break
					}
				} else if ctx.Err() != nil {
					break
				}
				body := storm.Webhook(seq.Add(1))
				t0 := time.Now()
				if err := post(ctx, client, *url, *token, body); err != nil {
					if ctx.Err() == nil {
						failures.Add(1)
						fmt.Fprintln(os.Stderr, "amload:", err)
					}
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	report(os.Stdout, latencies, failures.Load(), *perWebhook, *concurrency, *rate, elapsed)
}

// pace returns a channel that yields rate tokens per second until ctx ends, or nil for no pacing.
func pace(ctx context.Context, rate float64) <-chan struct{} {
	if rate <= 0 {
		return nil
	}
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		interval := time.Duration(float64(time.Second) / rate)
		next := time.Now()
		for {
			next = next.Add(interval)
			if d := time.Until(next); d > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(d):
				}
			}
			select {
			case <-ctx.Done():
				return
			case ch <- struct{}{}:
			}
		}
	}()
	return ch
}

func post(ctx context.Context, client *http.Client, url, token string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(answer)))
	}
	return nil
}

func report(w io.Writer, lat []time.Duration, failures int64, perWebhook, concurrency int, rate float64, elapsed time.Duration) {
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	mode := "as fast as possible"
	if rate > 0 {
		mode = fmt.Sprintf("paced at %.0f webhooks/s", rate)
	}
	fmt.Fprintf(w, "amload: %d senders, %d alerts per webhook, %s, %s\n", concurrency, perWebhook, mode, elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "accepted: %d webhooks (%d alerts), failed: %d\n", len(lat), len(lat)*perWebhook, failures)
	fmt.Fprintf(w, "throughput: %.0f webhooks/s, %.0f alerts/s\n",
		float64(len(lat))/elapsed.Seconds(), float64(len(lat)*perWebhook)/elapsed.Seconds())
	fmt.Fprintf(w, "latency: p50 %s  p90 %s  p99 %s  max %s\n",
		pct(.50).Round(time.Microsecond), pct(.90).Round(time.Microsecond), pct(.99).Round(time.Microsecond), pct(1).Round(time.Microsecond))
}
