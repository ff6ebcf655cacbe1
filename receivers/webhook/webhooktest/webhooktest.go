// Package webhooktest is for tests only: a fake webhook destination that decodes what
// the webhook receiver posts (Alertmanager's payload, version 4), records it with its
// headers and body, and answers what the test scripts: failures, rate limits, delays, a
// hang. A body of another type (a form, a rendered body template) is recorded as is; one
// said to be JSON must be valid JSON.
package webhooktest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alertrouter/alertrouter/receivers/receivertest"
	"github.com/alertrouter/alertrouter/receivers/webhook"
)

// Request is one request the fake accepted.
type Request struct {
	Path   string
	Header http.Header
	// Body is the body as received.
	Body []byte
	// Payload is the body decoded, when it is a JSON object; zero otherwise.
	Payload webhook.Payload
}

// Fake is a fake webhook destination. Its methods are safe to call while it serves.
type Fake struct {
	srv *httptest.Server

	mu       sync.Mutex
	answers  []func(http.ResponseWriter) // scripted, consumed in order
	delay    time.Duration
	block    chan struct{}
	requests []Request
	throttle receivertest.Throttle
}

// New starts a fake, closed when the test ends.
func New(t testing.TB) *Fake {
	f := &Fake{}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the fake's base URL, http://host:port; any path under it is accepted.
func (f *Fake) URL() string { return f.srv.URL }

// Close stops the fake early, so that it refuses connections.
func (f *Fake) Close() { f.srv.Close() }

// Script queues answers for the next requests, one each, in order; a scripted answer
// records nothing. Once they are used up the fake accepts and records again.
func (f *Fake) Script(answers ...func(w http.ResponseWriter)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers = append(f.answers, answers...)
}

// Status is a scripted answer: the status code with the header pairs given, and a body
// that says it was scripted.
func Status(code int, header ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "scripted failure")
	}
}

// SetDelay makes every request wait d before it is answered, as a slow destination does.
func (f *Fake) SetDelay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay = d
}

// Block holds every request until release is called, as a hung destination does.
func (f *Fake) Block() (release func()) {
	ch := make(chan struct{})
	f.mu.Lock()
	f.block = ch
	f.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			f.block = nil
			f.mu.Unlock()
			close(ch)
		})
	}
}

// Throttle answers the next n requests with 429 and Retry-After: retryAfterSeconds,
// recording none of them; 0 stops throttling.
func (f *Fake) Throttle(n int, retryAfterSeconds int) { f.throttle.Set(n, retryAfterSeconds) }

// Throttled is how many requests the fake has throttled so far.
func (f *Fake) Throttled() int { return f.throttle.Count() }

// Requests returns the recorded requests, in order.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// Payloads returns the recorded payloads, in order.
func (f *Fake) Payloads() []webhook.Payload {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]webhook.Payload, len(f.requests))
	for i, r := range f.requests {
		out[i] = r.Payload
	}
	return out
}

// AlertCounts counts the alerts received by status and the value of label: the key is
// "<status> <value>", such as "firing gpu-node-01".
func (f *Fake) AlertCounts(label string) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for _, r := range f.requests {
		if r.Payload.Data == nil {
			continue
		}
		for _, a := range r.Payload.Alerts {
			out[a.Status+" "+a.Labels[label]]++
		}
	}
	return out
}

// Alerts is how many alerts the fake has received in all.
func (f *Fake) Alerts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if r.Payload.Data != nil {
			n += len(r.Payload.Alerts)
		}
	}
	return n
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	delay, block := f.delay, f.block
	f.mu.Unlock()
	if block != nil {
		<-block
	}
	time.Sleep(delay)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if throttled, retryAfter := f.throttle.Take(); throttled {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		http.Error(w, "rate limited", http.StatusTooManyRequests)
		return
	}
	f.mu.Lock()
	if len(f.answers) > 0 {
		answer := f.answers[0]
		f.answers = f.answers[1:]
		f.mu.Unlock()
		answer(w)
		return
	}
	f.mu.Unlock()
	var p webhook.Payload
	if isJSON(r.Header.Get("Content-Type")) {
		if !json.Valid(body) {
			http.Error(w, "not JSON", http.StatusBadRequest)
			return
		}
		if bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
			if err := json.Unmarshal(body, &p); err != nil {
				http.Error(w, "not a JSON payload: "+err.Error(), http.StatusBadRequest)
				return
			}
		}
	}
	f.mu.Lock()
	f.requests = append(f.requests, Request{Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Payload: p})
	f.mu.Unlock()
}

// isJSON reports whether a Content-Type is JSON: application/json or a +json type.
func isJSON(contentType string) bool {
	t, _, err := mime.ParseMediaType(contentType)
	return err == nil && (t == "application/json" || strings.HasSuffix(t, "+json"))
}
