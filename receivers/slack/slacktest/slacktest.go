// Package slacktest is for tests only: a fake Slack that speaks the incoming-webhook
// protocol on /services/... and the Web API's chat.postMessage on /api/chat.postMessage,
// records what it accepts, and answers what the test scripts.
package slacktest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/slack-go/slack"

	"github.com/alertrouter/alertrouter/receivers/receivertest"
)

// NoChannel is a channel chat.postMessage answers channel_not_found for (after
// recording the message).
const NoChannel = "#nowhere"

// Message is one request the fake recorded: a webhook post or a chat.postMessage call.
type Message struct {
	// Path is the request path: /services/... for a webhook, /api/chat.postMessage for
	// the Web API.
	Path string
	// Webhook is the decoded webhook payload; nil for chat.postMessage.
	Webhook *slack.WebhookMessage
	// Form is the chat.postMessage form (channel, attachments, token...); nil for webhooks.
	Form url.Values
	// Authorization is the request's Authorization header.
	Authorization string
}

// Attachments returns the message's attachments, decoded from the webhook payload or
// from chat.postMessage's attachments field.
func (m Message) Attachments() ([]slack.Attachment, error) {
	if m.Webhook != nil {
		return m.Webhook.Attachments, nil
	}
	var atts []slack.Attachment
	if v := m.Form.Get("attachments"); v != "" {
		if err := json.Unmarshal([]byte(v), &atts); err != nil {
			return nil, err
		}
	}
	return atts, nil
}

// Fake is a fake Slack. Its methods are safe to call while it serves.
type Fake struct {
	srv *httptest.Server

	mu       sync.Mutex
	answer   func(w http.ResponseWriter) // nil: answer as Slack does
	messages []Message
	throttle receivertest.Throttle
}

// New starts a fake Slack, closed when the test ends.
func New(t testing.TB) *Fake {
	f := &Fake{}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the fake's base URL: webhook URLs are URL()+"/services/...", and the Web API
// URL (a receiver's api_url) is URL()+"/api/".
func (f *Fake) URL() string { return f.srv.URL }

// Close stops the fake early, so that it refuses connections.
func (f *Fake) Close() { f.srv.Close() }

// SetAnswer scripts the answer to every request from now on; nil answers as Slack does.
// Scripted answers record nothing.
func (f *Fake) SetAnswer(answer func(w http.ResponseWriter)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = answer
}

// Throttle answers the next n requests as Slack's rate limit does, HTTP 429 with
// Retry-After: retryAfterSeconds, recording none of them; 0 stops throttling.
func (f *Fake) Throttle(n int, retryAfterSeconds int) { f.throttle.Set(n, retryAfterSeconds) }

// Throttled is how many requests the fake has throttled so far.
func (f *Fake) Throttled() int { return f.throttle.Count() }

// Messages returns a copy of the recorded messages, in order.
func (f *Fake) Messages() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Message, len(f.messages))
	for i, m := range f.messages {
		if m.Webhook != nil {
			hook := *m.Webhook
			hook.Attachments = append([]slack.Attachment(nil), hook.Attachments...)
			m.Webhook = &hook
		}
		if m.Form != nil {
			form := make(url.Values, len(m.Form))
			for k, vs := range m.Form {
				form[k] = append([]string(nil), vs...)
			}
			m.Form = form
		}
		out[i] = m
	}
	return out
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	if throttled, retryAfter := f.throttle.Take(); throttled {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		if strings.HasPrefix(r.URL.Path, "/api/") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"ok":false,"error":"ratelimited"}`)
			return
		}
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, "rate_limited")
		return
	}
	f.mu.Lock()
	if answer := f.answer; answer != nil {
		f.mu.Unlock()
		answer(w)
		return
	}
	f.mu.Unlock()
	switch {
	case strings.HasPrefix(r.URL.Path, "/services/"):
		var m slack.WebhookMessage
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		f.record(Message{Path: r.URL.Path, Webhook: &m, Authorization: r.Header.Get("Authorization")})
		io.WriteString(w, "ok")
	case r.URL.Path == "/api/chat.postMessage":
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		f.record(Message{Path: r.URL.Path, Form: r.PostForm, Authorization: r.Header.Get("Authorization")})
		w.Header().Set("Content-Type", "application/json")
		if r.PostForm.Get("channel") == NoChannel {
			io.WriteString(w, `{"ok":false,"error":"channel_not_found"}`)
			return
		}
		io.WriteString(w, `{"ok":true,"channel":"C1","ts":"1.2"}`)
	default:
		http.NotFound(w, r)
	}
}

func (f *Fake) record(m Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.messages = append(f.messages, m)
}
