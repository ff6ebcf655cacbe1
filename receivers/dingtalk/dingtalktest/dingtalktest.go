// Package dingtalktest is for tests only: a fake DingTalk custom robot on
// /robot/send?access_token=..., that checks what DingTalk checks (the access token, the
// signature and its timestamp window, the keyword, the size of the text), answers as
// DingTalk does (HTTP 200 with an errcode), records the messages it accepts, and says
// whom each would ring.
package dingtalktest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/receivers/receivertest"
)

// Token is the only access token the fake knows.
const Token = "9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c0b2d4f6e8a1c3e5b7d9f0a2c4e6b8d0f"

// MaxText is the most bytes DingTalk takes in markdown.text or text.content.
const MaxText = 20000

// Window is how far a signed request's timestamp may be from the fake's clock.
const Window = time.Hour

// DingTalk's answer codes, and the messages it sends with them.
const (
	CodeOK        = 0
	CodeBusy      = -1
	CodeThrottled = 130101
	CodeSecurity  = 310000
	CodeNoToken   = 300001
	CodeDissolved = 400013
	CodeTooLong   = 460101
	// CodeBadRequest is DingTalk's answer to a body it cannot read.
	CodeBadRequest = 40035
	// CodeContentType is its answer to a body that is not sent as JSON.
	CodeContentType = 43004

	MsgSignNotMatch     = "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"
	MsgInvalidTimestamp = "invalid timestamp"
	MsgNoKeyword        = "keywords not in content, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"
	MsgThrottled        = "send too fast, exceed 20 times per minute"
	MsgNoToken          = "token is not exist"
	MsgTooLong          = "message too long, exceed 20000 bytes"
)

// MsgIPNotAllowed is the security answer of a robot whose IP allow-list lacks ip.
func MsgIPNotAllowed(ip string) string {
	return fmt.Sprintf("ip %s not in whitelist, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]", ip)
}

// Message is one message the fake accepted, decoded.
type Message struct {
	MsgType  string    `json:"msgtype"`
	Markdown *Markdown `json:"markdown"`
	Text     *Text     `json:"text"`
	At       At        `json:"at"`

	// Signed is whether the request carried a valid signature (only checked when the fake
	// has a secret).
	Signed bool `json:"-"`
	// Body is the request body as sent.
	Body []byte `json:"-"`
}

// Markdown is a markdown message's part.
type Markdown struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

// Text is a text message's part.
type Text struct {
	Content string `json:"content"`
}

// At are a message's mentions.
type At struct {
	AtMobiles []string `json:"atMobiles"`
	AtUserIDs []string `json:"atUserIds"`
	IsAtAll   bool     `json:"isAtAll"`
}

// Content is what DingTalk shows and measures: markdown.text or text.content.
func (m Message) Content() string {
	switch {
	case m.Markdown != nil:
		return m.Markdown.Text
	case m.Text != nil:
		return m.Text.Content
	}
	return ""
}

// Rings are whom the message would ring on DingTalk: each mobile in atMobiles and user id
// in atUserIds that the content mentions as @X, and "all" when isAtAll.
func (m Message) Rings() []string {
	var out []string
	content := m.Content()
	for _, x := range slices.Concat(m.At.AtMobiles, m.At.AtUserIDs) {
		if x != "" && strings.Contains(content, "@"+x) {
			out = append(out, x)
		}
	}
	if m.At.IsAtAll {
		out = append(out, "all")
	}
	return out
}

// Fake is a fake DingTalk robot. Its methods are safe to call while it serves.
type Fake struct {
	srv *httptest.Server
	// Script has the knobs Refuse, FailStatus and SetAnswer.
	receivertest.Script

	mu       sync.Mutex
	secret   string
	keyword  string
	requests int
	messages []Message
	throttle receivertest.Throttle
}

// New starts a fake robot over plain HTTP, closed when the test ends.
func New(t testing.TB) *Fake {
	f := &Fake{}
	f.srv = receivertest.Serve(t, http.HandlerFunc(f.serve))
	return f
}

// NewTLS starts a fake robot over HTTPS with a certificate of its own (a private CA, see
// receivertest.CAFile), closed when the test ends.
func NewTLS(t testing.TB) *Fake {
	f := &Fake{}
	f.srv = receivertest.ServeTLS(t, http.HandlerFunc(f.serve))
	return f
}

// URL is the robot's webhook URL, shaped as DingTalk's: /robot/send?access_token=Token.
func (f *Fake) URL() string { return f.srv.URL + "/robot/send?access_token=" + Token }

// Server is the fake's server, for receivertest.CAFile.
func (f *Fake) Server() *httptest.Server { return f.srv }

// Close stops the fake early, so that it refuses connections.
func (f *Fake) Close() { f.srv.Close() }

// SetSecret secures the robot by signing with secret: requests must then carry a valid
// timestamp and sign. "" turns signing off.
func (f *Fake) SetSecret(secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secret = secret
}

// SetKeyword secures the robot by keyword: a message whose content lacks it is refused.
// "" turns the check off.
func (f *Fake) SetKeyword(keyword string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keyword = keyword
}

// Throttle answers the next n valid requests as DingTalk does past 20 messages a minute
// (errcode 130101), recording none of them; 0 stops throttling.
func (f *Fake) Throttle(n int) { f.throttle.Set(n, 0) }

// Throttled is how many requests the fake has throttled so far.
func (f *Fake) Throttled() int { return f.throttle.Count() }

// Requests is how many requests reached the fake, accepted or not.
func (f *Fake) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// Messages returns a copy of the accepted messages, in order.
func (f *Fake) Messages() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.messages)
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	secret, keyword := f.secret, f.keyword
	f.mu.Unlock()
	code, msg, status, scripted := f.Scripted()
	if r.Method != http.MethodPost || r.URL.Path != "/robot/send" {
		http.NotFound(w, r)
		return
	}
	if status != 0 {
		http.Error(w, http.StatusText(status), status)
		return
	}
	if scripted != nil {
		scripted(w)
		return
	}
	q := r.URL.Query()
	if q.Get("access_token") != Token {
		answer(w, CodeNoToken, MsgNoToken)
		return
	}
	signed := false
	if secret != "" {
		ms, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
		if err != nil || time.Since(time.UnixMilli(ms)).Abs() > Window {
			answer(w, CodeSecurity, MsgInvalidTimestamp)
			return
		}
		// Query() has decoded sign: a + that was not escaped arrived as a space.
		if q.Get("sign") != receivers.HMACSHA256(secret, q.Get("timestamp")+"\n"+secret) {
			answer(w, CodeSecurity, MsgSignNotMatch)
			return
		}
		signed = true
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		answer(w, CodeContentType, "无效的HTTP HEADER Content-Type")
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var m Message
	switch err := json.Unmarshal(raw, &m); {
	case err != nil || !utf8.Valid(raw):
		answer(w, CodeBadRequest, "缺少参数 json")
		return
	case m.MsgType == "markdown" && (m.Markdown == nil || m.Markdown.Title == "" || m.Markdown.Text == ""):
		answer(w, CodeBadRequest, "缺少参数 markdown")
		return
	case m.MsgType == "text" && (m.Text == nil || m.Text.Content == ""):
		answer(w, CodeBadRequest, "缺少参数 text")
		return
	case m.MsgType != "markdown" && m.MsgType != "text":
		answer(w, CodeBadRequest, "不支持的消息类型")
		return
	}
	content := m.Content()
	if keyword != "" && !strings.Contains(content, keyword) {
		answer(w, CodeSecurity, MsgNoKeyword)
		return
	}
	if len(content) > MaxText {
		answer(w, CodeTooLong, MsgTooLong)
		return
	}
	if throttled, _ := f.throttle.Take(); throttled {
		answer(w, CodeThrottled, MsgThrottled)
		return
	}
	if code != 0 {
		answer(w, code, msg)
		return
	}
	m.Signed, m.Body = signed, raw
	f.mu.Lock()
	f.messages = append(f.messages, m)
	f.mu.Unlock()
	answer(w, CodeOK, "ok")
}

func answer(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	b, _ := json.Marshal(map[string]any{"errcode": code, "errmsg": msg})
	_, _ = w.Write(b)
}
