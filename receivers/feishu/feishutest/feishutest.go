// Package feishutest is for tests only: a fake Feishu/Lark custom bot that speaks the
// webhook protocol on /open-apis/bot/v2/hook/TOKEN as Feishu does: it checks the token,
// the signature and its timestamp window, the size and shape of the body, records what
// it accepts, and answers HTTP 200 with Feishu's JSON code, or what the test scripts.
//
// Where Feishu's documentation is silent the fake is strict: a body over MaxBody bytes is
// answered with CodeParams (19002), as is a body that is not valid UTF-8, not JSON of a
// known shape (unknown fields included), or a message without its content.
package feishutest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/alertrouter/alertrouter/receivers/receivertest"
)

// Token is the token in the path of the fake's webhook URL.
const Token = "2f9d4c1e-7b3a-4e8f-9a61-5c0d8e7b3f21"

// HookPath is where the webhook URL's path starts, before the token.
const HookPath = "/open-apis/bot/v2/hook/"

// Feishu's answer codes that the fake gives.
const (
	CodeOK               = 0
	CodeTooManyRequests  = 9499  // "too many request"
	CodeFrequencyLimited = 11232 // "frequency limited"
	CodeTokenInvalid     = 19001 // a wrong token in the path
	CodeParams           = 19002 // a body Feishu cannot use
	CodeSignature        = 19021 // a wrong signature, or a timestamp more than an hour off
	CodeIPNotAllowed     = 19022
	CodeKeyword          = 19024
)

// MaxBody is the most a request body may weigh: Feishu's 20 KB, read as 20,000 bytes.
const MaxBody = 20000

// Window is how far a signed message's timestamp may be from the fake's clock.
const Window = time.Hour

var messages = map[int]string{
	CodeTooManyRequests:  "too many request",
	CodeFrequencyLimited: "frequency limited psm[lark.oapi.app_platform_runtime]appID[1]",
	CodeTokenInvalid:     "param invalid: incoming webhook access token invalid",
	CodeParams:           "params error",
	CodeSignature:        "sign match fail or timestamp is not within one hour from current time",
	CodeIPNotAllowed:     "ip not allowed",
	CodeKeyword:          "Key Words Not Found",
}

// Message is one message the fake accepted.
type Message struct {
	// Raw is the request body as it came.
	Raw []byte `json:"-"`
	// Signed is true when the fake required a signature and it was right.
	Signed    bool   `json:"-"`
	Timestamp string `json:"timestamp"`
	Sign      string `json:"sign"`
	// MsgType is interactive (a card) or text.
	MsgType string   `json:"msg_type"`
	Card    *Card    `json:"card"`
	Content *Content `json:"content"`
}

// Card is an interactive message card.
type Card struct {
	Config struct {
		WideScreenMode bool `json:"wide_screen_mode"`
	} `json:"config"`
	Header struct {
		Title    Text   `json:"title"`
		Template string `json:"template"`
	} `json:"header"`
	Elements []Element `json:"elements"`
}

// Element is one element of a card.
type Element struct {
	Tag  string `json:"tag"`
	Text *Text  `json:"text"`
}

// Text is a card's text: plain_text or lark_md (Feishu's markdown).
type Text struct {
	Tag     string `json:"tag"`
	Content string `json:"content"`
}

// Content is a text message's content.
type Content struct {
	Text string `json:"text"`
}

// Title is the card's header, or a text message's first line.
func (m Message) Title() string {
	if m.Card != nil {
		return m.Card.Header.Title.Content
	}
	if m.Content != nil {
		title, _, _ := strings.Cut(m.Content.Text, "\n")
		return title
	}
	return ""
}

// Text is the card's first lark_md text, or a text message's text after its first line.
func (m Message) Text() string {
	if m.Content != nil {
		_, text, _ := strings.Cut(m.Content.Text, "\n")
		return text
	}
	if md := m.Markdown(); len(md) > 0 {
		return md[0]
	}
	return ""
}

// Markdown is the content of each lark_md text of the card, in order: what Feishu
// renders as markdown, and where its <at> tags ring.
func (m Message) Markdown() []string {
	if m.Card == nil {
		return nil
	}
	var out []string
	for _, e := range m.Card.Elements {
		if e.Text != nil && e.Text.Tag == "lark_md" {
			out = append(out, e.Text.Content)
		}
	}
	return out
}

// mention is an <at> tag as Feishu reads it, in cards (<at id=ou_x></at>) and text
// (<at user_id="ou_x"></at>), after decoding the HTML entities Feishu decodes.
var mention = regexp.MustCompile(`(?i)<at\s+(?:user_id|id|open_id|email)\s*=\s*["']?([^"'\s>]+)["']?[^>]*>`)

// link is a markdown link, [text](url).
var link = regexp.MustCompile(`\[[^\]]*\]\(([^)]*)\)`)

func (m Message) marked() []string {
	if m.Content != nil {
		return []string{m.Content.Text}
	}
	return m.Markdown()
}

// Rings is who the message would mention on Feishu: the ids of its <at> tags in the
// card's lark_md texts or the text message's text, in order ("all" for everyone).
func (m Message) Rings() []string {
	var out []string
	for _, s := range m.marked() {
		for _, sub := range mention.FindAllStringSubmatch(html.UnescapeString(s), -1) {
			out = append(out, sub[1])
		}
	}
	return out
}

// Links are the targets of the markdown links in the message's lark_md texts or text.
func (m Message) Links() []string {
	var out []string
	for _, s := range m.marked() {
		for _, sub := range link.FindAllStringSubmatch(s, -1) {
			out = append(out, sub[1])
		}
	}
	return out
}

// Fake is a fake Feishu custom bot. Its methods are safe to call while it serves.
type Fake struct {
	srv *httptest.Server
	// Script has the knobs Refuse, FailStatus and SetAnswer.
	receivertest.Script

	mu           sync.Mutex
	secret       string
	legacy       bool
	throttleCode int
	messages     []Message
	throttle     receivertest.Throttle
}

// New starts a fake Feishu on plain http, closed when the test ends.
func New(t testing.TB) *Fake {
	f := &Fake{}
	f.srv = receivertest.Serve(t, http.HandlerFunc(f.serve))
	return f
}

// NewTLS starts a fake Feishu on https with a certificate of its own (a private CA, as
// on-premises Feishu has; receivertest.CAFile(t, f.Server()) writes it).
func NewTLS(t testing.TB) *Fake {
	f := &Fake{}
	f.srv = receivertest.ServeTLS(t, http.HandlerFunc(f.serve))
	return f
}

// URL is the bot's webhook URL, shaped as Feishu's: BASE/open-apis/bot/v2/hook/Token.
func (f *Fake) URL() string { return f.srv.URL + HookPath + Token }

// Server is the fake's server, for receivertest.CAFile.
func (f *Fake) Server() *httptest.Server { return f.srv }

// Close stops the fake early, so that it refuses connections.
func (f *Fake) Close() { f.srv.Close() }

// SetSecret makes the fake check each message's timestamp (within Window of the
// real clock) and signature against secret, as a bot with signing on does; "" stops.
func (f *Fake) SetSecret(secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secret = secret
}

// Legacy makes the fake answer success as older Feishu did, {"StatusCode":0,...} without
// "code"; false answers as Feishu does now, with both.
func (f *Fake) Legacy(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.legacy = on
}

// Throttle answers the next n requests with a rate-limit code (CodeTooManyRequests or
// CodeFrequencyLimited), recording none of them; 0 stops throttling.
func (f *Fake) Throttle(n, code int) {
	f.mu.Lock()
	f.throttleCode = code
	f.mu.Unlock()
	f.throttle.Set(n, 0)
}

// Throttled is how many requests the fake has throttled so far.
func (f *Fake) Throttled() int { return f.throttle.Count() }

// FailSecurity answers every request from now on with a security code (CodeSignature,
// CodeIPNotAllowed, CodeKeyword) and Feishu's message for it, recording none; 0 stops.
func (f *Fake) FailSecurity(code int) { f.Refuse(code, messages[code]) }

// Messages returns a copy of the accepted messages, in order.
func (f *Fake) Messages() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Message, len(f.messages))
	for i, m := range f.messages {
		m.Raw = append([]byte(nil), m.Raw...)
		if m.Card != nil {
			c := *m.Card
			c.Elements = append([]Element(nil), c.Elements...)
			m.Card = &c
		}
		if m.Content != nil {
			c := *m.Content
			m.Content = &c
		}
		out[i] = m
	}
	return out
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.URL.Path, HookPath)
	if !ok || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	secret, legacy, throttleCode := f.secret, f.legacy, f.throttleCode
	f.mu.Unlock()
	code, codeMsg, status, answer := f.Scripted()
	switch {
	case answer != nil:
		answer(w)
		return
	case status != 0:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>", status, http.StatusText(status))
		return
	}
	if throttled, _ := f.throttle.Take(); throttled {
		if throttleCode == 0 {
			throttleCode = CodeTooManyRequests
		}
		reply(w, throttleCode, messages[throttleCode])
		return
	}
	if code != 0 {
		reply(w, code, codeMsg)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		reply(w, CodeParams, messages[CodeParams])
		return
	}
	if len(body) > MaxBody {
		reply(w, CodeParams, fmt.Sprintf("params error: request body of %d bytes is over %d", len(body), MaxBody))
		return
	}
	if token != Token {
		reply(w, CodeTokenInvalid, messages[CodeTokenInvalid])
		return
	}
	m, problem := decode(body)
	if problem != "" {
		reply(w, CodeParams, "params error: "+problem)
		return
	}
	if secret != "" {
		if !signedRight(m.Timestamp, m.Sign, secret, time.Now()) {
			reply(w, CodeSignature, messages[CodeSignature])
			return
		}
		m.Signed = true
	}
	f.mu.Lock()
	f.messages = append(f.messages, m)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if legacy {
		io.WriteString(w, `{"Extra":null,"StatusCode":0,"StatusMessage":"success"}`)
		return
	}
	io.WriteString(w, `{"StatusCode":0,"StatusMessage":"success","code":0,"data":{},"msg":"success"}`)
}

// decode reads a body as Feishu would, or says what is wrong with it.
func decode(body []byte) (Message, string) {
	if !utf8.Valid(body) {
		return Message{}, "the body is not valid UTF-8"
	}
	var m Message
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Message{}, "the body is not a message: " + err.Error()
	}
	m.Raw = body
	switch m.MsgType {
	case "interactive":
		if m.Card == nil || len(m.Card.Elements) == 0 || m.Card.Header.Title.Content == "" {
			return Message{}, "a card needs a header title and elements"
		}
		for _, e := range m.Card.Elements {
			if e.Text == nil || (e.Text.Tag != "lark_md" && e.Text.Tag != "plain_text") {
				return Message{}, "a card element needs a lark_md or plain_text text"
			}
		}
	case "text":
		if m.Content == nil || m.Content.Text == "" {
			return Message{}, "a text message needs content.text"
		}
	default:
		return Message{}, fmt.Sprintf("unknown msg_type %q", m.MsgType)
	}
	return m, ""
}

// signedRight checks a signature as Feishu does: the timestamp (seconds) within Window
// of now, and sign = base64(HMAC-SHA256(key = timestamp + "\n" + secret, message = "")).
func signedRight(timestamp, sign, secret string, now time.Time) bool {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	if d := now.Sub(time.Unix(ts, 0)); d > Window || d < -Window {
		return false
	}
	mac := hmac.New(sha256.New, []byte(timestamp+"\n"+secret))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(sign), []byte(want))
}

func reply(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	b, _ := json.Marshal(map[string]any{"code": code, "msg": msg, "data": map[string]any{}})
	w.Write(b)
}
