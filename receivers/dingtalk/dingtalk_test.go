package dingtalk

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/alertrouter/alertrouter/config/duration"
	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/receivers/dingtalk/dingtalktest"
	"github.com/alertrouter/alertrouter/receivers/receivertest"
)

const secret = "SEC6a1f0c2b9e8d7f3a4c5b6e7d8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7"

func config(hook string) Config {
	return Config{RobotConfig: receivers.RobotConfig{WebhookURL: receivers.Secret(hook)}}
}

func newReceiver(t *testing.T, c Config) *Receiver {
	t.Helper()
	return New(&c, receivertest.Prepare(t, &c))
}

func send(r *Receiver, m *receivers.Message) error { return r.Send(context.Background(), m) }

// only returns the fake's one message.
func only(t *testing.T, f *dingtalktest.Fake) dingtalktest.Message {
	t.Helper()
	msgs := f.Messages()
	if len(msgs) != 1 {
		t.Fatalf("the fake holds %d messages, want 1", len(msgs))
	}
	return msgs[0]
}

func TestValidate(t *testing.T) {
	hook := "https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef"
	with := func(f func(*Config)) Config { c := config(hook); f(&c); return c }
	tests := []struct {
		name  string
		c     Config
		field string
	}{
		{"minimal", config(hook), ""},
		{"url file", Config{RobotConfig: receivers.RobotConfig{WebhookURLFile: "/run/secrets/dingtalk_url"}}, ""},
		{"signed", with(func(c *Config) { c.Secret = secret }), ""},
		{"secret file", with(func(c *Config) { c.SecretFile = "/run/secrets/dingtalk_secret" }), ""},
		{"text", with(func(c *Config) { c.MessageType = Text }), ""},
		{"keyword", with(func(c *Config) { c.Keyword = "告警" }), ""},
		{"at", with(func(c *Config) {
			c.At = At{Mobiles: []string{"13800000000", "+86-13900000000"}, UserIDs: []string{"manager4711", "0420_ops-lead"}, All: true}
		}), ""},
		{"english", with(func(c *Config) { c.Language = receivers.English }), ""},
		{"no url", Config{}, "webhook_url"},
		{"url and file", with(func(c *Config) { c.WebhookURLFile = "/f" }), "webhook_url"},
		{"not a url", config("oapi.dingtalk.com/robot/send"), "webhook_url"},
		{"no access token", config("https://oapi.dingtalk.com/robot/send?token=s3cr3tT0kenValue"), "webhook_url"},
		{"secret and file", with(func(c *Config) { c.Secret, c.SecretFile = secret, "/f" }), "secret"},
		{"card", with(func(c *Config) { c.MessageType = "card" }), "message_type"},
		{"keyword with spaces", with(func(c *Config) { c.Keyword = " 告警" }), "keyword"},
		{"keyword with a line break", with(func(c *Config) { c.Keyword = "告\n警" }), "keyword"},
		{"keyword too long", with(func(c *Config) { c.Keyword = strings.Repeat("告", 100) }), "keyword"},
		{"mobile", with(func(c *Config) { c.At.Mobiles = []string{"13800000000", "@13900000000"} }), "at.mobiles[1]"},
		{"empty user id", with(func(c *Config) { c.At.UserIDs = []string{""} }), "at.user_ids[0]"},
		{"user id with space", with(func(c *Config) { c.At.UserIDs = []string{"ok", "a b"} }), "at.user_ids[1]"},
		{"rate", with(func(c *Config) { c.RateLimit = math.Inf(1) }), "rate_limit"},
		{"throttle wait", with(func(c *Config) { c.ThrottleWait = -1 }), "throttle_wait"},
		{"language", with(func(c *Config) { c.Language = "fr" }), "language"},
		{"proxy", with(func(c *Config) { c.ProxyURL = "ftp://user:s3cr3tT0kenValue@proxy" }), "proxy_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			if !receivertest.IsFieldError(err, tt.field) {
				t.Fatalf("%v, want a problem with %q", err, tt.field)
			}
			if err != nil {
				receivertest.NoSecrets(t, "error", err.Error(), secret, "s3cr3tT0kenValue", "0123456789abcdef")
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c := config("https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef")
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	r := New(&c, receivertest.Templates(t))
	if rate, burst := r.RateLimit(); rate != 0.25 || burst != 5 || rate*60+float64(burst) > 20 {
		t.Errorf("rate limit %v burst %d: want 0.25 and 5, at most 20 messages in a minute", rate, burst)
	}
	if c.ThrottleWait.Std() != time.Minute || c.MessageType != Markdown || c.Text != `{{ template "im.zh.markdown" . }}` || c.Language != receivers.Chinese {
		t.Errorf("defaults: throttle_wait %s, message_type %q, text %q, language %q", c.ThrottleWait, c.MessageType, c.Text, c.Language)
	}
	c = Config{RobotConfig: typed(c.RobotConfig, Text)}
	c.Text = ""
	if err := c.Validate(); err != nil || c.Text != `{{ template "im.zh.text" . }}` {
		t.Errorf("text messages: %v, text %q", err, c.Text)
	}
	c.SecretFile, c.WebhookURLFile = "/s", "/u"
	if got := c.SecretFiles(); got["secret_file"] != "/s" || got["webhook_url_file"] != "/u" {
		t.Errorf("SecretFiles() = %v", got)
	}
}

// The platform's fields sit beside the shared ones in the receiver's YAML, decoded strictly
// as config loading does.
func TestYAML(t *testing.T) {
	in := `
webhook_url: https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef
secret_file: /run/secrets/dingtalk_secret
keyword: 告警
message_type: text
language: en
at: {mobiles: ['13800000000'], user_ids: [manager4711], all: true}
rate_limit: 0.1
throttle_wait: 2m
proxy_url: http://proxy.internal:3128
`
	dec := yaml.NewDecoder(strings.NewReader(in))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := At{Mobiles: []string{"13800000000"}, UserIDs: []string{"manager4711"}, All: true}
	if c.SecretFile != "/run/secrets/dingtalk_secret" || c.Keyword != "告警" || c.MessageType != Text || c.Language != receivers.English ||
		!slices.Equal(c.At.Mobiles, want.Mobiles) || !slices.Equal(c.At.UserIDs, want.UserIDs) || !c.At.All ||
		c.RateLimit != 0.1 || c.ThrottleWait != duration.Duration(2*time.Minute) || c.ProxyURL != "http://proxy.internal:3128" {
		t.Fatalf("decoded %+v", c)
	}
}

// Sign is checked against HMAC-SHA256 computed here, not by the shared helper.
func TestSign(t *testing.T) {
	hook := "https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef"
	now := time.UnixMilli(1764230400123)
	signed, err := Sign(hook, secret, now)
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("1764230400123\n" + secret))
	sign := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	u, _ := url.Parse(signed)
	q := u.Query()
	if q.Get("access_token") != "0123456789abcdef" || q.Get("timestamp") != "1764230400123" || q.Get("sign") != sign {
		t.Fatalf("signed URL %s: want sign %s", signed, sign)
	}
	if !strings.Contains(u.RawQuery, "sign="+url.QueryEscape(sign)) || u.Host != "oapi.dingtalk.com" || u.Path != "/robot/send" {
		t.Fatalf("the sign is not URL-encoded in %s", signed)
	}
	if same, _ := Sign(hook, "", now); same != hook {
		t.Errorf("without a secret: %s", same)
	}
}

func TestSignedMarkdownDelivery(t *testing.T) {
	f := dingtalktest.New(t)
	f.SetSecret(secret)
	c := config(f.URL())
	c.Secret = secret
	if err := send(newReceiver(t, c), receivertest.Message(2, "firing", "critical")); err != nil {
		t.Fatal(err)
	}
	m := only(t, f)
	if !m.Signed || m.MsgType != "markdown" || m.Markdown == nil {
		t.Fatalf("message %+v: want a signed markdown message", m)
	}
	if m.Markdown.Title != "[告警:2] GPUTemperatureHigh (gpu-render-a)" {
		t.Errorf("title %q", m.Markdown.Title)
	}
	want := "### [告警:2] GPUTemperatureHigh (gpu-render-a)\n\n" +
		"**【告警】GPUTemperatureHigh** · critical · gpu-node-01:9400\n\nGPU 0 on gpu-node-01 is at 87°C\n\n开始：2026-11-21 16:00:00 CST [查看](http://prometheus:9090/graph)\n\n" +
		"**【告警】GPUTemperatureHigh** · critical · gpu-node-02:9400\n\nGPU 0 on gpu-node-02 is at 87°C\n\n开始：2026-11-21 16:00:00 CST [查看](http://prometheus:9090/graph)"
	if m.Markdown.Text != want {
		t.Errorf("text\n got %q\nwant %q", m.Markdown.Text, want)
	}
	if !strings.Contains(string(m.Body), `"at":{"atMobiles":[],"atUserIds":[],"isAtAll":false}`) {
		t.Errorf("body %s: want empty mention lists", m.Body)
	}
}

func TestTextDeliveryWithMentions(t *testing.T) {
	f := dingtalktest.New(t)
	c := config(f.URL())
	c.MessageType, c.Language = Text, receivers.English
	c.At = At{Mobiles: []string{"13800000000"}, UserIDs: []string{"manager4711"}, All: true}
	if err := send(newReceiver(t, c), receivertest.Message(1, "resolved", "warning")); err != nil {
		t.Fatal(err)
	}
	m := only(t, f)
	want := "[RESOLVED] GPUTemperatureHigh (gpu-render-a)\n" +
		"[RESOLVED] GPUTemperatureHigh on gpu-node-01:9400: GPU 0 on gpu-node-01 is at 87°C (since 2026-11-21 16:00:00 CST, resolved 2026-11-21 17:00:00 CST)\n" +
		"@13800000000 @manager4711"
	if m.MsgType != "text" || m.Text == nil || m.Text.Content != want {
		t.Fatalf("message %+v\nwant content %q", m, want)
	}
	if got := m.Rings(); !slices.Equal(got, []string{"13800000000", "manager4711", "all"}) {
		t.Errorf("rings %v", got)
	}
}

func TestKeyword(t *testing.T) {
	f := dingtalktest.New(t)
	f.SetKeyword("alertrouter")
	c := config(f.URL())
	c.Keyword = "alertrouter"
	if err := send(newReceiver(t, c), receivertest.Message(1, "resolved", "warning")); err != nil {
		t.Fatal(err)
	}
	if m := only(t, f); !strings.HasSuffix(m.Content(), "\n\nalertrouter") {
		t.Errorf("content %q: want the keyword added", m.Content())
	}

	// A keyword the text already holds is not added again.
	f = dingtalktest.New(t)
	f.SetKeyword("gpu-render-a")
	c = config(f.URL())
	c.Keyword = "gpu-render-a"
	if err := send(newReceiver(t, c), receivertest.Message(1, "firing", "warning")); err != nil {
		t.Fatal(err)
	}
	if m := only(t, f); strings.HasSuffix(m.Content(), "\n\ngpu-render-a") {
		t.Errorf("content %q: the keyword was added though present", m.Content())
	}

	// Without the robot's keyword configured, DingTalk refuses: the error says to check it.
	f.SetKeyword("告警机器人")
	err := send(newReceiver(t, c), receivertest.Message(1, "firing", "warning"))
	if !receivers.IsPermanent(err) || !strings.Contains(err.Error(), "check keyword") {
		t.Fatalf("err = %v: want permanent, naming keyword", err)
	}
}

// DingTalk's throttle pauses the receiver for throttle_wait without losing the message:
// the next attempt delivers it, once.
func TestThrottleThenOneDelivery(t *testing.T) {
	for _, wait := range []duration.Duration{0, duration.Duration(3 * time.Minute)} {
		f := dingtalktest.New(t)
		f.Throttle(1)
		c := config(f.URL())
		c.ThrottleWait = wait
		r := newReceiver(t, c)
		err := send(r, receivertest.Message(1, "firing", "critical"))
		var th *receivers.ThrottledError
		if !errors.As(err, &th) || th.RetryAfter != wait.Or(time.Minute) || receivers.IsPermanent(err) {
			t.Fatalf("err = %v, want throttled for %s", err, wait.Or(time.Minute))
		}
		if f.Throttled() != 1 || len(f.Messages()) != 0 {
			t.Fatalf("throttled %d with %d messages: want 1 and none", f.Throttled(), len(f.Messages()))
		}
		if err := send(r, receivertest.Message(1, "firing", "critical")); err != nil {
			t.Fatalf("after the throttle: %v", err)
		}
		if len(f.Messages()) != 1 || f.Requests() != 2 {
			t.Fatalf("%d messages in %d requests, want 1 in 2", len(f.Messages()), f.Requests())
		}
	}
}

// Security refusals are permanent, and the error says which setting to check.
func TestSecurityFailures(t *testing.T) {
	tests := []struct {
		name   string
		secret string // the receiver's; the fake's is the constant
		code   int    // the code the fake answers valid requests with, 0 for none
		refuse string // and its errmsg
		want   []string
	}{
		{"wrong secret", "SECnotTheRobotsSecret0123456789", 0, "", []string{"sign not match", "secret_file", "clock"}},
		{"no secret", "", 0, "", []string{"invalid timestamp", "secret_file", "clock"}},
		{"clock", secret, dingtalktest.CodeSecurity, dingtalktest.MsgInvalidTimestamp, []string{"invalid timestamp", "secret_file", "clock"}},
		{"keyword", secret, dingtalktest.CodeSecurity, dingtalktest.MsgNoKeyword, []string{"keywords not in content", "check keyword"}},
		{"ip", secret, dingtalktest.CodeSecurity, dingtalktest.MsgIPNotAllowed("203.0.113.7"), []string{"203.0.113.7", "IP allow-list"}},
		{"unclear", secret, dingtalktest.CodeSecurity, "security check failed", []string{"secret_file", "clock", "keyword", "IP allow-list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := dingtalktest.New(t)
			f.SetSecret(secret)
			f.Refuse(tt.code, tt.refuse)
			c := config(f.URL())
			c.Secret = receivers.Secret(tt.secret)
			err := send(newReceiver(t, c), receivertest.Message(1, "firing", "critical"))
			if err == nil || !receivers.IsPermanent(err) {
				t.Fatalf("err = %v, want permanent", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err %q does not say %q", err, w)
				}
			}
			var ae *receivers.AnswerError
			if !errors.As(err, &ae) || ae.Code != dingtalktest.CodeSecurity {
				t.Errorf("err %v: want an answer error with code 310000", err)
			}
			receivertest.NoSecrets(t, "error", err.Error(), secret, tt.secret, f.URL(), dingtalktest.Token)
			if len(f.Messages()) != 0 {
				t.Error("the fake took a refused message")
			}
		})
	}
}

// The fake checks what DingTalk checks: the signature's timestamp window (an hour), the
// token, the size of the text.
func TestFakeChecks(t *testing.T) {
	f := dingtalktest.New(t)
	f.SetSecret(secret)
	text := func(n int) string { return `{"msgtype":"text","text":{"content":"` + strings.Repeat("x", n) + `"}}` }
	for _, tt := range []struct {
		name string
		hook string
		at   time.Time
		body string
		code int
		msg  string
	}{
		{"2h old", f.URL(), time.Now().Add(-2 * time.Hour), text(1), dingtalktest.CodeSecurity, dingtalktest.MsgInvalidTimestamp},
		{"70m ahead", f.URL(), time.Now().Add(70 * time.Minute), text(1), dingtalktest.CodeSecurity, dingtalktest.MsgInvalidTimestamp},
		{"1m old", f.URL(), time.Now().Add(-time.Minute), text(1), 0, "ok"},
		{"wrong token", strings.Replace(f.URL(), dingtalktest.Token, "nope0123456789", 1), time.Now(), text(1), dingtalktest.CodeNoToken, dingtalktest.MsgNoToken},
		{"at the limit", f.URL(), time.Now(), text(dingtalktest.MaxText), 0, "ok"},
		{"too long", f.URL(), time.Now(), text(dingtalktest.MaxText + 1), dingtalktest.CodeTooLong, dingtalktest.MsgTooLong},
	} {
		target, err := Sign(tt.hook, secret, tt.at)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(target, "application/json", strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		var a struct {
			Errcode int    `json:"errcode"`
			Errmsg  string `json:"errmsg"`
		}
		err = json.NewDecoder(resp.Body).Decode(&a)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || a.Errcode != tt.code || a.Errmsg != tt.msg {
			t.Errorf("%s: HTTP %d, answer %+v (%v), want code %d %q", tt.name, resp.StatusCode, a, err, tt.code, tt.msg)
		}
	}
	if n := len(f.Messages()); n != 2 {
		t.Errorf("the fake holds %d messages, want 2", n)
	}
}

func TestAnswerCodes(t *testing.T) {
	tests := []struct {
		name      string
		code      int
		msg       string
		permanent bool
		limited   bool
		throttled bool
		want      string
	}{
		{"unknown", 999999, "something new", false, true, false, "999999 (something new)"},
		{"busy", dingtalktest.CodeBusy, "系统繁忙", false, false, false, "-1"},
		{"throttled", dingtalktest.CodeThrottled, dingtalktest.MsgThrottled, false, false, true, "20 messages a minute"},
		{"no token", dingtalktest.CodeNoToken, dingtalktest.MsgNoToken, true, false, false, "check webhook_url"},
		{"dissolved", dingtalktest.CodeDissolved, "群已被解散", true, false, false, "group was dissolved"},
		{"too long", dingtalktest.CodeTooLong, dingtalktest.MsgTooLong, true, false, false, "size limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := dingtalktest.New(t)
			f.Refuse(tt.code, tt.msg)
			err := send(newReceiver(t, config(f.URL())), receivertest.Message(1, "firing", "critical"))
			attempts, limited := receivers.RetryLimit(err)
			var th *receivers.ThrottledError
			if err == nil || receivers.IsPermanent(err) != tt.permanent || limited != tt.limited || errors.As(err, &th) != tt.throttled {
				t.Fatalf("err %v: permanent %v, retry limit %v, throttled %v", err, receivers.IsPermanent(err), limited, th != nil)
			}
			if limited && attempts != receivers.UnknownCodeAttempts {
				t.Errorf("%d attempts, want %d", attempts, receivers.UnknownCodeAttempts)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %q does not say %q", err, tt.want)
			}
		})
	}
}

// A 5xx, a network failure or an answer that is not DingTalk's is worth retrying, without
// limit: nothing says the message is bad.
func TestRetryableFailures(t *testing.T) {
	answer := func(body string) func(http.ResponseWriter) {
		return func(w http.ResponseWriter) { io.WriteString(w, body) }
	}
	tests := []struct {
		name string
		set  func(*dingtalktest.Fake)
		want string
	}{
		{"502", func(f *dingtalktest.Fake) { f.FailStatus(http.StatusBadGateway) }, "502"},
		{"503", func(f *dingtalktest.Fake) { f.FailStatus(http.StatusServiceUnavailable) }, "503"},
		{"not JSON", func(f *dingtalktest.Fake) { f.SetAnswer(answer("<html>gateway timeout</html>")) }, "<html>gateway timeout</html>"},
		{"no errcode", func(f *dingtalktest.Fake) { f.SetAnswer(answer(`{"status":"ok"}`)) }, `without a code: {"status":"ok"}`},
		{"unreachable", func(f *dingtalktest.Fake) { f.Close() }, "connect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := dingtalktest.New(t)
			tt.set(f)
			c := config(f.URL())
			c.Secret = secret
			err := send(newReceiver(t, c), receivertest.Message(1, "firing", "critical"))
			_, limited := receivers.RetryLimit(err)
			var th *receivers.ThrottledError
			if err == nil || receivers.IsPermanent(err) || limited || errors.As(err, &th) {
				t.Fatalf("err %v: want retryable without limit", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %q does not say %q", err, tt.want)
			}
			receivertest.NoSecrets(t, "error", err.Error(), secret, f.URL(), dingtalktest.Token)
		})
	}
}

// shown counts the alerts a rendering shows, by the marker each alert's entry starts with.
func shown(content, marker string) int { return strings.Count(content, marker) }

// A 200-alert group is cut to DingTalk's 20,000 bytes at an alert's end, and says how many
// alerts it left out, in the receiver's language.
func TestSizeLimit(t *testing.T) {
	tests := []struct {
		language    receivers.Language
		messageType string
		marker      string
		note        string
	}{
		{receivers.Chinese, Markdown, "【告警】", "\n…另有 %d 条告警"},
		{receivers.English, Markdown, "[FIRING]", "\n... and %d more alerts"},
		{receivers.Chinese, Text, "【告警】", "\n…另有 %d 条告警"},
		{receivers.English, Text, "[FIRING]", "\n... and %d more alerts"},
	}
	for _, tt := range tests {
		t.Run(string(tt.language)+" "+tt.messageType, func(t *testing.T) {
			f := dingtalktest.New(t)
			c := config(f.URL())
			c.Language, c.MessageType = tt.language, tt.messageType
			r := newReceiver(t, c)
			m := receivertest.Message(200, "firing", "warning")
			if ok, err := r.Fits(m); ok || err != nil {
				t.Fatalf("Fits = %v, %v: want a 200-alert group too long", ok, err)
			}
			if err := send(r, m); err != nil {
				t.Fatal(err)
			}
			content := only(t, f).Content()
			n := shown(content, tt.marker)
			if len(content) > MaxText || len(content) < MaxText-400 || !utf8.ValidString(content) {
				t.Fatalf("%d bytes (valid UTF-8 %v): want at most %d, and close to it", len(content), utf8.ValidString(content), MaxText)
			}
			if n < 2 || n >= 200 || !strings.HasSuffix(content, fmt.Sprintf(tt.note, 200-n)) {
				t.Fatalf("%d alerts shown; content ends %q", n, content[max(0, len(content)-80):])
			}
		})
	}
}

// One alert too long alone is cut, never inside a character, and keeps the mentions
// (DingTalk rings only mobiles the text names) and the keyword.
func TestHugeAnnotationIsCut(t *testing.T) {
	for _, alerts := range []int{1, 3} {
		f := dingtalktest.New(t)
		f.SetKeyword("alertrouter")
		c := config(f.URL())
		c.Keyword = "alertrouter"
		c.At.Mobiles = []string{"13800000000"}
		r := newReceiver(t, c)
		m := receivertest.Message(alerts, "firing", "critical")
		m.Data.Alerts[0].Annotations["summary"] = "x" + strings.Repeat("温度过高", 3000) // 36,001 bytes, cut mid-rune unless careful
		if err := send(r, m); err != nil {
			t.Fatal(err)
		}
		msg := only(t, f)
		content := msg.Content()
		if len(content) > MaxText || !utf8.ValidString(content) || !regexp.MustCompile(`[温度过高]…\n`).MatchString(content) {
			t.Fatalf("%d alerts: %d bytes, valid UTF-8 %v, ends %q", alerts, len(content), utf8.ValidString(content), content[max(0, len(content)-120):])
		}
		if !slices.Equal(msg.Rings(), []string{"13800000000"}) || !strings.Contains(content, "alertrouter") {
			t.Errorf("%d alerts: rings %v; the mention or keyword was cut off", alerts, msg.Rings())
		}
		if alerts > 1 && !strings.Contains(content, "\n…另有 2 条告警") {
			t.Errorf("%d alerts: no note for the 2 left out: ends %q", alerts, content[max(0, len(content)-120):])
		}
	}
}

// Labels and annotations can neither mention anyone nor make markup; the configured `at`
// does mention.
func TestInjectedMentionsRingNobody(t *testing.T) {
	injections := []string{
		"@13800000000", "<@zhangsan>", `<at user_id="all"></at>`, "[x](http://evil)", "\n# heading", "&#60;at id=all&#62;", "@all",
	}
	inject := func() *receivers.Message {
		m := receivertest.Message(len(injections), "firing", "critical")
		m.Data.GroupLabels["hostgroup"] = "@13800000000 [x](http://evil)"
		for i, v := range injections {
			m.Data.Alerts[i].Labels["instance"] = v
			m.Data.Alerts[i].Labels["alertname"] = v
			m.Data.Alerts[i].Annotations["summary"] = "look " + v
		}
		m.Data.Alerts[0].GeneratorURL = "http://prometheus/)[x](http://evil2"
		return m
	}
	check := func(t *testing.T, msg dingtalktest.Message) {
		t.Helper()
		content := msg.Content()
		for _, bad := range []string{"<@", "<at", "&#", "](http://evil", "@all", "@zhangsan"} {
			if strings.Contains(content, bad) || strings.Contains(msg.Markdown.Title, bad) {
				t.Errorf("the message holds %q:\n%s", bad, content)
			}
		}
		for i, line := range strings.Split(content, "\n") {
			if i > 0 && strings.HasPrefix(strings.TrimSpace(line), "#") {
				t.Errorf("line %d is a heading: %q", i, line)
			}
		}
	}
	t.Run("no at", func(t *testing.T) {
		f := dingtalktest.New(t)
		if err := send(newReceiver(t, config(f.URL())), inject()); err != nil {
			t.Fatal(err)
		}
		msg := only(t, f)
		check(t, msg)
		if strings.Contains(msg.Content(), "@") || len(msg.Rings()) != 0 {
			t.Errorf("rings %v; content holds an @:\n%s", msg.Rings(), msg.Content())
		}
	})
	t.Run("configured at", func(t *testing.T) {
		f := dingtalktest.New(t)
		c := config(f.URL())
		c.At = At{Mobiles: []string{"13800000000"}, UserIDs: []string{"manager4711"}}
		if err := send(newReceiver(t, c), inject()); err != nil {
			t.Fatal(err)
		}
		msg := only(t, f)
		check(t, msg)
		if got := msg.Rings(); !slices.Equal(got, []string{"13800000000", "manager4711"}) {
			t.Errorf("rings %v, want the configured two", got)
		}
		// Ours is the only @ the text holds; the data's is full-width.
		if n := strings.Count(msg.Content(), "@"); n != 2 || !strings.HasSuffix(msg.Content(), "\n\n@13800000000 @manager4711") {
			t.Errorf("%d @ in the text, want our 2 at its end:\n%s", n, msg.Content())
		}
	})
}

// Under a burst the dispatcher folds due notifications while they Fit: 30 small ones make
// one message, big ones fold fewer, and a folded message goes out whole.
func TestFold(t *testing.T) {
	f := dingtalktest.New(t)
	r := newReceiver(t, config(f.URL()))
	burst := func(n, alerts int) []*receivers.Message {
		var msgs []*receivers.Message
		for i := range n {
			m := receivertest.Message(alerts, "firing", "warning")
			m.ID = int64(i + 1)
			msgs = append(msgs, m)
		}
		return msgs
	}
	folded, n, err := receivers.Fold(r, burst(30, 1))
	if err != nil || n != 30 || len(folded.Data.Alerts) != 30 {
		t.Fatalf("Fold of 30 small: %d folded (%v)", n, err)
	}
	if err := send(r, folded); err != nil {
		t.Fatal(err)
	}
	if content := only(t, f).Content(); shown(content, "【告警】") != 30 || strings.Contains(content, "另有") {
		t.Fatalf("the digest does not show all 30 alerts:\n%s", content)
	}

	folded, n, err = receivers.Fold(r, burst(30, 40))
	if err != nil || n < 2 || n >= 30 {
		t.Fatalf("Fold of 30 with 40 alerts each: %d folded (%v), want fewer than 30 and more than 1", n, err)
	}
	if ok, err := r.Fits(folded); !ok || err != nil {
		t.Fatalf("the folded message does not fit: %v", err)
	}
	more, _ := r.Fits(receivers.Merge(burst(n+1, 40)))
	if more {
		t.Fatalf("Fold stopped at %d, but %d fit", n, n+1)
	}
	if err := send(r, folded); err != nil {
		t.Fatal(err)
	}
	msgs := f.Messages()
	if content := msgs[len(msgs)-1].Content(); shown(content, "【告警】") != 40*n || len(content) > MaxText {
		t.Fatalf("the digest of %d shows %d alerts in %d bytes", n, shown(content, "【告警】"), len(content))
	}

	if _, n, err := receivers.Fold(r, burst(3, 200)); err != nil || n != 1 {
		t.Fatalf("Fold of 200-alert notifications: %d (%v), want 1", n, err)
	}
}

// Through proxy_url, as teams in China reach the internet. The fake is plain HTTP, so the
// proxy forwards the request: receivertest.Proxy's CONNECT tunnel drops the first byte of
// the TLS handshake now and then (it ignores the reader Hijack returns), which would make
// this test flaky.
func TestProxy(t *testing.T) {
	// https:// goes through a CONNECT tunnel, http:// is forwarded: both must arrive signed.
	for _, tls := range []bool{false, true} {
		f := dingtalktest.New(t)
		if tls {
			f = dingtalktest.NewTLS(t)
		}
		f.SetSecret(secret)
		proxy := receivertest.NewProxy(t)
		c := config(f.URL())
		c.Secret, c.ProxyURL = secret, receivers.Secret(proxy.URL())
		if tls {
			c.TLSConfig.CAFile = receivertest.CAFile(t, f.Server())
		}
		if err := send(newReceiver(t, c), receivertest.Message(1, "firing", "critical")); err != nil {
			t.Fatalf("tls %v: through the proxy: %v", tls, err)
		}
		host := f.Server().Listener.Addr().String()
		if hosts := proxy.Hosts(); !slices.Equal(hosts, []string{host}) {
			t.Fatalf("tls %v: the proxy saw %v, want %s", tls, hosts, host)
		}
		if !only(t, f).Signed {
			t.Fatalf("tls %v: the message lost its signature on the way", tls)
		}
	}
}

// A robot behind a private CA (an on-premises gateway): refused without tls_config.ca_file,
// reached with it.
func TestPrivateCA(t *testing.T) {
	f := dingtalktest.NewTLS(t)
	err := send(newReceiver(t, config(f.URL())), receivertest.Message(1, "firing", "critical"))
	if err == nil || receivers.IsPermanent(err) || f.Requests() != 0 {
		t.Fatalf("without ca_file: err %v, %d requests: want a retryable refusal", err, f.Requests())
	}
	receivertest.NoSecrets(t, "error", err.Error(), f.URL(), dingtalktest.Token)

	c := config(f.URL())
	c.TLSConfig.CAFile = receivertest.CAFile(t, f.Server())
	if err := send(newReceiver(t, c), receivertest.Message(1, "firing", "critical")); err != nil {
		t.Fatalf("with ca_file: %v", err)
	}
	only(t, f)
}

// A destination whose error page quotes the request: neither the URL, its token nor the
// signing secret survives into the error.
func TestEchoedRequestsLeakNoSecret(t *testing.T) {
	echo := receivertest.Echo(t)
	token := "d1ngT0kend1ngT0kend1ngT0ken"
	hook := echo.URL + "/robot/send?access_token=" + token
	proxy := receivertest.NewProxy(t)
	for _, c := range []Config{config(hook), {RobotConfig: receivers.RobotConfig{WebhookURL: receivers.Secret(hook),
		HTTPClientConfig: receivers.HTTPClientConfig{ProxyURL: receivers.Secret(proxy.URL())}}, RobotSecret: receivers.RobotSecret{Secret: secret}}} {
		err := send(newReceiver(t, c), receivertest.Message(1, "firing", "critical"))
		if err == nil || !receivers.IsPermanent(err) {
			t.Fatalf("err = %v: want the echo's 404, permanent", err)
		}
		receivertest.NoSecrets(t, "error", err.Error(), hook, token, secret, url.QueryEscape(secret))
	}
}

func TestSecretFiles(t *testing.T) {
	f := dingtalktest.New(t)
	f.SetSecret(secret)
	dir := t.TempDir()
	urlFile, secretFile := filepath.Join(dir, "dingtalk_url"), filepath.Join(dir, "dingtalk_secret")
	os.WriteFile(urlFile, []byte(f.URL()+"\n"), 0o600)
	os.WriteFile(secretFile, []byte(secret+"\n"), 0o600)
	ok := Config{RobotConfig: receivers.RobotConfig{WebhookURLFile: urlFile}, RobotSecret: receivers.RobotSecret{SecretFile: secretFile}}
	if err := send(newReceiver(t, ok), receivertest.Message(1, "firing", "critical")); err != nil || !only(t, f).Signed {
		t.Fatalf("from files: %v", err)
	}

	missing := filepath.Join(dir, "missing_secret")
	for _, c := range []Config{
		{RobotConfig: receivers.RobotConfig{WebhookURLFile: urlFile}, RobotSecret: receivers.RobotSecret{SecretFile: missing}},
		{RobotConfig: receivers.RobotConfig{WebhookURLFile: missing}, RobotSecret: receivers.RobotSecret{SecretFile: secretFile}},
	} {
		err := send(newReceiver(t, c), receivertest.Message(1, "firing", "critical"))
		if err == nil || receivers.IsPermanent(err) || !strings.Contains(err.Error(), missing) {
			t.Fatalf("err = %v: want a retryable error naming %s", err, missing)
		}
		receivertest.NoSecrets(t, "error", err.Error(), secret, f.URL(), dingtalktest.Token)
	}

	// A URL file without the token: permanent, and the URL is not quoted.
	noToken := "https://oapi.dingtalk.com/robot/send?acess_token=" + dingtalktest.Token
	os.WriteFile(urlFile, []byte(noToken), 0o600)
	err := send(newReceiver(t, ok), receivertest.Message(1, "firing", "critical"))
	if err == nil || !receivers.IsPermanent(err) || !strings.Contains(err.Error(), "webhook_url_file") {
		t.Fatalf("err = %v: want permanent, naming webhook_url_file", err)
	}
	receivertest.NoSecrets(t, "error", err.Error(), noToken, dingtalktest.Token, secret)
}

func TestRenderErrorIsPermanent(t *testing.T) {
	f := dingtalktest.New(t)
	c := config(f.URL())
	// Passes the config check's samples (up to 3 alerts), fails on more.
	c.Text = `{{ if gt (len .Alerts) 3 }}{{ template "nowhere" . }}{{ end }}`
	r := newReceiver(t, c)
	m := receivertest.Message(5, "firing", "critical")
	if err := send(r, m); err == nil || !receivers.IsPermanent(err) {
		t.Fatalf("err = %v, want permanent", err)
	}
	if _, err := r.Fits(m); err == nil {
		t.Fatal("Fits hid the render error")
	}
	if f.Requests() != 0 {
		t.Fatal("a message that does not render was sent")
	}
}

// The title is DingTalk's preview and the text's heading: one line, cut short in the preview.
func TestTitleIsPlain(t *testing.T) {
	f := dingtalktest.New(t)
	r := newReceiver(t, config(f.URL()))
	m := receivertest.Message(1, "firing", "critical")
	m.Data.GroupLabels["hostgroup"] = "gpu-render-a\n\n**bold** " + strings.Repeat("很长的主机组", 30)
	if err := send(r, m); err != nil {
		t.Fatal(err)
	}
	msg := only(t, f)
	title := msg.Markdown.Title
	if strings.ContainsAny(title, "\n\r") || len(title) > 128 || !utf8.ValidString(title) || !strings.HasPrefix(title, "[告警:1] GPUTemperatureHigh (gpu-render-a **bold** 很长") {
		t.Errorf("preview %q (%d bytes)", title, len(title))
	}
	lines := strings.Split(msg.Content(), "\n")
	if !strings.HasPrefix(lines[0], "### [告警:1] GPUTemperatureHigh (gpu-render-a **bold** 很长") || !strings.HasSuffix(lines[0], "很长的主机组)") || lines[1] != "" {
		t.Errorf("heading %q then %q", lines[0], lines[1])
	}
}

// typed is a robot config of the message type.
func typed(rc receivers.RobotConfig, messageType string) receivers.RobotConfig {
	rc.MessageType = messageType
	return rc
}
