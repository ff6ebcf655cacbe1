// Package wecomtest is for tests only: a fake WeCom (企业微信) group robot on
// /cgi-bin/webhook/send?key=KEY that answers as WeCom does (HTTP 200 and an errcode),
// checks the key and the size limits, records the messages it accepts, says whom each
// would mention, and answers what the test scripts: throttling, an IP refusal, a 5xx, an
// undocumented code.
package wecomtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/alertrouter/alertrouter/receivers/receivertest"
)

// Key is the only robot key the fake knows; it has the shape of a real one.
const Key = "693a91f6-7a0b-4bc4-97a0-0ec2f1fa5a1e"

// Path is the robot's path, as on qyapi.weixin.qq.com.
const Path = "/cgi-bin/webhook/send"

// WeCom's limits on the content field, in UTF-8 bytes.
const (
	MaxMarkdown = 4096
	MaxText     = 2048
)

// The codes the fake answers, as WeCom does.
const (
	CodeOK          = 0
	CodeInvalidKey  = 93000
	CodeThrottled   = 45009
	CodeTooLong     = 45002
	CodeInvalid     = 40058
	CodeEmpty       = 44004
	CodeBadType     = 40008
	CodeIPForbidden = 60020
)

// Message is one message the fake accepted, decoded.
type Message struct {
	// MsgType is markdown or text.
	MsgType string
	// Content is the content field: markdown's or text's.
	Content string
	// MentionedList and MentionedMobileList are a text message's mentions.
	MentionedList       []string
	MentionedMobileList []string
	// Body is the request's body as received.
	Body []byte
}

// Fake is a fake WeCom group robot. Its methods are safe to call while it serves.
type Fake struct {
	srv *httptest.Server
	// Script has the knobs Refuse, FailStatus and SetAnswer.
	receivertest.Script

	mu       sync.Mutex
	messages []Message
	requests int
	denyIP   bool
	throttle receivertest.Throttle
}

// New starts a fake on plain HTTP, closed when the test ends.
func New(t testing.TB) *Fake {
	f := &Fake{}
	f.srv = receivertest.Serve(t, http.HandlerFunc(f.serve))
	return f
}

// NewTLS starts a fake on HTTPS with a certificate of its own CA, as an on-premises
// deployment behind a private CA: receivertest.CAFile(t, f.Server()) trusts it.
func NewTLS(t testing.TB) *Fake {
	f := &Fake{}
	f.srv = receivertest.ServeTLS(t, http.HandlerFunc(f.serve))
	return f
}

// URL is the robot's webhook URL, shaped as WeCom's: .../cgi-bin/webhook/send?key=Key.
func (f *Fake) URL() string { return f.URLWithKey(Key) }

// URLWithKey is the webhook URL with another key, which the fake refuses (93000).
func (f *Fake) URLWithKey(key string) string { return f.srv.URL + Path + "?key=" + key }

// Server is the fake's server, for receivertest.CAFile.
func (f *Fake) Server() *httptest.Server { return f.srv }

// Host is the fake's host:port.
func (f *Fake) Host() string { return f.srv.Listener.Addr().String() }

// Close stops the fake early, so that it refuses connections.
func (f *Fake) Close() { f.srv.Close() }

// Throttle answers the next n requests with a valid key as WeCom's frequency limit does,
// errcode 45009, recording none of them; 0 stops throttling.
func (f *Fake) Throttle(n int) { f.throttle.Set(n, 0) }

// Throttled is how many requests the fake has throttled so far.
func (f *Fake) Throttled() int { return f.throttle.Count() }

// DenyIP makes the fake refuse every request as a robot with an IP allow-list that
// does not hold the caller does: errcode 60020.
func (f *Fake) DenyIP(deny bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.denyIP = deny
}

// Requests is how many requests the fake received, accepted or not.
func (f *Fake) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// Messages returns a copy of the accepted messages, in order.
func (f *Fake) Messages() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Message, len(f.messages))
	for i, m := range f.messages {
		m.MentionedList = append([]string(nil), m.MentionedList...)
		m.MentionedMobileList = append([]string(nil), m.MentionedMobileList...)
		m.Body = append([]byte(nil), m.Body...)
		out[i] = m
	}
	return out
}

var (
	mention = regexp.MustCompile(`<@([^>]*)>`)
	link    = regexp.MustCompile(`\[[^\]]*\]\(([^)]*)\)`)
	heading = regexp.MustCompile(`(?m)^ {0,3}#{1,6}(?: |$)(.*)$`)
)

// Rings is whom m would mention on WeCom: the user ids of `<@userid>` in a markdown
// message's content; the entries of a text message's mentioned_list and
// mentioned_mobile_list ("@all" is everyone). Nothing else in a content mentions anyone.
func Rings(m Message) []string {
	var out []string
	switch m.MsgType {
	case "markdown":
		for _, sub := range mention.FindAllStringSubmatch(m.Content, -1) {
			out = append(out, sub[1])
		}
	case "text":
		out = append(out, m.MentionedList...)
		out = append(out, m.MentionedMobileList...)
	}
	return out
}

// Links are the targets of the links WeCom would render in a markdown message.
func Links(m Message) []string {
	if m.MsgType != "markdown" {
		return nil
	}
	var out []string
	for _, sub := range link.FindAllStringSubmatch(m.Content, -1) {
		out = append(out, sub[1])
	}
	return out
}

// Headings are the texts of the headings WeCom would render in a markdown message.
func Headings(m Message) []string {
	if m.MsgType != "markdown" {
		return nil
	}
	var out []string
	for _, sub := range heading.FindAllStringSubmatch(m.Content, -1) {
		out = append(out, sub[1])
	}
	return out
}

type body struct {
	MsgType  string `json:"msgtype"`
	Markdown *struct {
		Content string `json:"content"`
	} `json:"markdown"`
	Text *struct {
		Content             string   `json:"content"`
		MentionedList       []string `json:"mentioned_list"`
		MentionedMobileList []string `json:"mentioned_mobile_list"`
	} `json:"text"`
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	denyIP := f.denyIP
	f.mu.Unlock()
	code, codeMsg, status, scripted := f.Scripted()
	if status != 0 {
		http.Error(w, "<html><body>502 Bad Gateway</body></html>", status)
		return
	}
	if r.URL.Path != Path || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	if scripted != nil {
		scripted(w)
		return
	}
	if r.URL.Query().Get("key") != Key {
		answer(w, CodeInvalidKey, "invalid webhook url")
		return
	}
	if denyIP {
		answer(w, CodeIPForbidden, "not allow to access from your ip")
		return
	}
	if throttled, _ := f.throttle.Take(); throttled {
		answer(w, CodeThrottled, "api freq out of limit")
		return
	}
	if code != 0 {
		answer(w, code, codeMsg)
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || !utf8.Valid(payload) {
		answer(w, CodeInvalid, "invalid request body")
		return
	}
	var b body
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields() // stricter than WeCom: a misspelt field is our bug
	if err := dec.Decode(&b); err != nil {
		answer(w, CodeInvalid, "invalid json: "+err.Error())
		return
	}
	m := Message{MsgType: b.MsgType, Body: payload}
	limit := 0
	switch {
	case b.MsgType == "markdown" && b.Markdown != nil:
		m.Content, limit = b.Markdown.Content, MaxMarkdown
	case b.MsgType == "text" && b.Text != nil:
		m.Content, limit = b.Text.Content, MaxText
		m.MentionedList, m.MentionedMobileList = b.Text.MentionedList, b.Text.MentionedMobileList
	case b.MsgType == "markdown", b.MsgType == "text":
		answer(w, CodeInvalid, fmt.Sprintf("missing %s", b.MsgType))
		return
	default:
		answer(w, CodeBadType, "invalid message type")
		return
	}
	switch {
	case strings.TrimSpace(m.Content) == "":
		answer(w, CodeEmpty, "empty content")
		return
	case len(m.Content) > limit:
		answer(w, CodeTooLong, fmt.Sprintf("content exceed max length %d", limit))
		return
	}
	f.mu.Lock()
	f.messages = append(f.messages, m)
	f.mu.Unlock()
	answer(w, CodeOK, "ok")
}

// answer writes WeCom's answer: HTTP 200 whatever the outcome, the errcode in the body,
// and a hint with more info, as WeCom adds.
func answer(w http.ResponseWriter, code int, msg string) {
	if code != CodeOK {
		msg += fmt.Sprintf(", hint: [1764000000_fake], more info at https://open.work.weixin.qq.com/devtool/query?e=%d", code)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	b, _ := json.Marshal(map[string]any{"errcode": code, "errmsg": msg})
	w.Write(b)
}
