// Package slacktest is for tests only: a fake Slack that speaks the incoming-webhook
// protocol on /services/... and the Web API's chat.postMessage on /api/chat.postMessage,
// records what it accepts, and answers what the test scripts. For buttons it also speaks
// Socket Mode: apps.connections.open (with the app token) hands out a WebSocket on which
// Press sends a button's press as Slack does (an "interactive" envelope, which the app
// must acknowledge), and it records chat.update and chat.postEphemeral.
package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
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
	// TS is the message's timestamp, its id in its channel (chat.postMessage).
	TS string
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
	// Socket Mode: the open connection, its acknowledgements, and what the app did.
	// pressing holds Press, the one writer of envelopes.
	pressing    sync.Mutex
	socket      *websocket.Conn
	connections int
	acks        chan string
	envelopes   int
	updates     []Message
	ephemerals  []Message
}

// AppToken is the app-level token the fake's Socket Mode takes.
const AppToken = "xapp-1-A1-test"

// pingInterval is how often the fake pings a Socket Mode connection.
const pingInterval = 5 * time.Second

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
		w.Header().Set("Content-Type", "application/json")
		f.mu.Lock()
		ts := "1." + strconv.Itoa(len(f.messages)+1)
		f.messages = append(f.messages, Message{Path: r.URL.Path, Form: r.PostForm, Authorization: r.Header.Get("Authorization"), TS: ts})
		f.mu.Unlock()
		if r.PostForm.Get("channel") == NoChannel {
			io.WriteString(w, `{"ok":false,"error":"channel_not_found"}`)
			return
		}
		io.WriteString(w, `{"ok":true,"channel":"C1","ts":"`+ts+`"}`)
	case r.URL.Path == "/api/chat.update" || r.URL.Path == "/api/chat.postEphemeral":
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		m := Message{Path: r.URL.Path, Form: r.PostForm, Authorization: r.Header.Get("Authorization"), TS: r.PostForm.Get("ts")}
		f.mu.Lock()
		if r.URL.Path == "/api/chat.update" {
			f.updates = append(f.updates, m)
		} else {
			f.ephemerals = append(f.ephemerals, m)
		}
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true,"channel":"C1","ts":"`+m.TS+`"}`)
	case r.URL.Path == "/api/apps.connections.open":
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer "+AppToken {
			io.WriteString(w, `{"ok":false,"error":"invalid_auth"}`)
			return
		}
		io.WriteString(w, `{"ok":true,"url":"ws://`+r.Host+`/socket"}`)
	case r.URL.Path == "/socket":
		f.serveSocket(w, r)
	default:
		http.NotFound(w, r)
	}
}

// serveSocket is a Socket Mode connection: hello, then the envelopes Press sends; what the
// app writes back (its acknowledgements) goes to acks.
func (f *Fake) serveSocket(w http.ResponseWriter, r *http.Request) {
	// Slack's clients dial with this Origin; anything else is refused, as a browser's would be.
	upgrader := websocket.Upgrader{CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "https://api.slack.com" }}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	if err := conn.WriteJSON(map[string]any{"type": "hello", "num_connections": 1,
		"connection_info": map[string]string{"app_id": "A1"}, "debug_info": map[string]any{"host": "fake"}}); err != nil {
		return
	}
	acks := make(chan string, 16)
	f.mu.Lock()
	if f.socket != nil {
		f.socket.Close()
	}
	f.socket, f.acks = conn, acks
	f.connections++
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		if f.socket == conn {
			f.socket = nil
		}
		f.mu.Unlock()
	}()
	// Slack pings every few seconds; a client that hears none reconnects.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(pingInterval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second)) != nil {
					return
				}
			}
		}
	}()
	for {
		var ack struct {
			EnvelopeID string `json:"envelope_id"`
		}
		if err := conn.ReadJSON(&ack); err != nil {
			return
		}
		acks <- ack.EnvelopeID
	}
}

// Connected reports whether an app holds a Socket Mode connection.
func (f *Fake) Connected() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.socket != nil
}

// Disconnect asks the app to reconnect, as Slack does every few hours ("refresh_requested"),
// and closes the connection.
func (f *Fake) Disconnect() error {
	f.pressing.Lock()
	defer f.pressing.Unlock()
	f.mu.Lock()
	conn := f.socket
	f.mu.Unlock()
	if conn == nil {
		return fmt.Errorf("no app connected")
	}
	err := conn.WriteJSON(map[string]any{"type": "disconnect", "reason": "refresh_requested", "debug_info": map[string]any{"host": "fake"}})
	conn.Close()
	return err
}

// Connections counts the Socket Mode connections made so far.
func (f *Fake) Connections() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connections
}

// Press presses, as user, the button actionID of the message with ts, whose value and
// block it takes from the message's last state (as chat.postMessage or chat.update
// left it), and waits for the app to acknowledge the envelope.
func (f *Fake) Press(ts, actionID, userID, userName string) error {
	f.pressing.Lock()
	defer f.pressing.Unlock()
	f.mu.Lock()
	var msg *Message
	for i := range f.messages {
		if f.messages[i].TS == ts {
			msg = &f.messages[i]
		}
	}
	for i := range f.updates {
		if f.updates[i].TS == ts {
			msg = &f.updates[i]
		}
	}
	conn, acks := f.socket, f.acks
	f.envelopes++
	envelope := fmt.Sprintf("E%d", f.envelopes)
	f.mu.Unlock()
	if msg == nil || conn == nil {
		return fmt.Errorf("no message %s, or no app connected", ts)
	}
	atts, err := msg.Attachments()
	if err != nil {
		return err
	}
	var action *slack.ButtonBlockElement
	var blockID string
	for _, att := range atts {
		for _, b := range att.Blocks.BlockSet {
			if a, ok := b.(*slack.ActionBlock); ok {
				for _, e := range a.Elements.ElementSet {
					if button, ok := e.(*slack.ButtonBlockElement); ok && button.ActionID == actionID && action == nil {
						action, blockID = button, a.BlockID
					}
				}
			}
		}
	}
	if action == nil {
		return fmt.Errorf("message %s has no button %s", ts, actionID)
	}
	payload := map[string]any{
		"type":      "block_actions",
		"user":      map[string]string{"id": userID, "username": userName, "name": userName, "team_id": "T1"},
		"team":      map[string]string{"id": "T1", "domain": "fake"},
		"channel":   map[string]string{"id": "C1", "name": "alerts"},
		"container": map[string]any{"type": "message_attachment", "message_ts": ts, "channel_id": "C1", "attachment_id": 1},
		"message":   map[string]any{"type": "message", "ts": ts, "text": msg.Form.Get("text"), "attachments": atts},
		"actions": []map[string]any{{"type": "button", "action_id": action.ActionID, "block_id": blockID, "value": action.Value,
			"text": action.Text, "action_ts": "1.9"}},
		"trigger_id":   "T.1",
		"response_url": "http://invalid/response",
	}
	if err := conn.WriteJSON(map[string]any{"envelope_id": envelope, "type": "interactive", "accepts_response_payload": false, "payload": payload}); err != nil {
		return err
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case id := <-acks:
			if id == envelope {
				return nil
			}
		case <-timeout:
			return fmt.Errorf("envelope %s was not acknowledged", envelope)
		}
	}
}

// Updates are the chat.update calls, in order.
func (f *Fake) Updates() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.updates)
}

// Ephemerals are the chat.postEphemeral calls, in order.
func (f *Fake) Ephemerals() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ephemerals)
}

func (f *Fake) record(m Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.messages = append(f.messages, m)
}
