package feishu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/alertrouter/alertrouter/config/duration"
	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/receivers/feishu/feishutest"
	"github.com/alertrouter/alertrouter/receivers/receivertest"
)

const testSecret = "SECf3i5huS1gn1ngS3cr3tV4lue"

func newReceiver(t *testing.T, c Config) *Receiver {
	t.Helper()
	return New(&c, receivertest.Prepare(t, &c))
}

func hook(u string) receivers.RobotConfig {
	return receivers.RobotConfig{WebhookURL: receivers.Secret(u)}
}

// sendOne sends m and returns the one message the fake accepted for it.
func sendOne(t *testing.T, f *feishutest.Fake, r *Receiver, m *receivers.Message) feishutest.Message {
	t.Helper()
	before := len(f.Messages())
	if err := r.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	msgs := f.Messages()
	if len(msgs) != before+1 {
		t.Fatalf("the fake holds %d messages, want %d", len(msgs), before+1)
	}
	return msgs[len(msgs)-1]
}

func TestValidate(t *testing.T) {
	const u = "https://open.feishu.cn/open-apis/bot/v2/hook/x"
	tests := []struct {
		name  string
		c     Config
		field string
	}{
		{"webhook_url", Config{RobotConfig: hook(u)}, ""},
		{"files", Config{RobotConfig: receivers.RobotConfig{WebhookURLFile: "/run/secrets/u"}, RobotSecret: receivers.RobotSecret{SecretFile: "/run/secrets/s"}}, ""},
		{"text with mentions", Config{RobotConfig: typed(hook(u), Text), At: At{UserIDs: []string{"ou_7d8a6e6df7621556ce0d21922b676706", "zhangsan"}, All: true}}, ""},
		{"lark", Config{RobotConfig: typed(hook("https://open.larksuite.com/open-apis/bot/v2/hook/x"), Card)}, ""},
		{"no webhook", Config{}, "webhook_url"},
		{"both webhook forms", Config{RobotConfig: receivers.RobotConfig{WebhookURL: u, WebhookURLFile: "/f"}}, "webhook_url"},
		{"webhook without scheme", Config{RobotConfig: hook("open.feishu.cn/open-apis/bot/v2/hook/x")}, "webhook_url"},
		{"both secret forms", Config{RobotConfig: hook(u), RobotSecret: receivers.RobotSecret{Secret: "s", SecretFile: "/f"}}, "secret"},
		{"markdown is DingTalk's", Config{RobotConfig: typed(hook(u), "markdown")}, "message_type"},
		{"all as a user id", Config{RobotConfig: hook(u), At: At{UserIDs: []string{"ou_1", "all"}}}, "at.user_ids[1]"},
		{"markup in a user id", Config{RobotConfig: hook(u), At: At{UserIDs: []string{`ou_1"></at><at user_id="all`}}}, "at.user_ids[0]"},
		{"empty user id", Config{RobotConfig: hook(u), At: At{UserIDs: []string{""}}}, "at.user_ids[0]"},
		{"negative rate", Config{RobotConfig: receivers.RobotConfig{WebhookURL: u, RateLimit: -1}}, "rate_limit"},
		{"negative throttle wait", Config{RobotConfig: receivers.RobotConfig{WebhookURL: u, ThrottleWait: -1}}, "throttle_wait"},
		{"language", Config{RobotConfig: receivers.RobotConfig{WebhookURL: u, Language: "fr"}}, "language"},
		{"proxy", Config{RobotConfig: receivers.RobotConfig{WebhookURL: u, HTTPClientConfig: receivers.HTTPClientConfig{ProxyURL: "ftp://p"}}}, "proxy_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			if !receivertest.IsFieldError(err, tt.field) {
				t.Fatalf("%v, want a problem with %q", err, tt.field)
			}
			if err != nil {
				receivertest.NoSecrets(t, "validation error", err.Error(), "open.feishu.cn/open-apis/bot/v2/hook/x")
			}
		})
	}
	c := Config{RobotConfig: receivers.RobotConfig{WebhookURL: u, Title: `{{ template "missing" . }}`}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckTemplates(receivertest.Templates(t)); !receivertest.IsFieldError(err, "title") {
		t.Errorf("a title calling an undefined template: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	card := Config{RobotConfig: hook("https://open.feishu.cn/open-apis/bot/v2/hook/x")}
	text := Config{RobotConfig: typed(receivers.RobotConfig{WebhookURL: card.WebhookURL, Language: receivers.English}, Text)}
	for _, c := range []*Config{&card, &text} {
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	if card.MessageType != Card || card.Text != `{{ template "im.zh.markdown" . }}` || card.Title != `{{ template "im.zh.title" . }}` {
		t.Errorf("card defaults: %q %q %q", card.MessageType, card.Title, card.Text)
	}
	if text.Text != `{{ template "im.en.text" . }}` {
		t.Errorf("text default: %q", text.Text)
	}
	rate, burst := New(&card, receivertest.Templates(t)).RateLimit()
	if rate != 1.5 || burst != 3 || card.ThrottleWait.Std() != 10*time.Second {
		t.Errorf("pace %v/s burst %d, throttle wait %s", rate, burst, card.ThrottleWait)
	}
	// Feishu: 5 a second and 100 a minute per bot, bursts included.
	if float64(burst)+rate > 5 || float64(burst)+60*rate > 100 {
		t.Errorf("the default pace %v/s with burst %d exceeds Feishu's limits", rate, burst)
	}
}

// The example decodes, strictly, with the shared fields inline.
func TestYAML(t *testing.T) {
	in := `
webhook_url_file: /run/secrets/feishu_url
secret_file: /run/secrets/feishu_secret
message_type: card
at: {user_ids: ['ou_xxx'], all: false}
language: en
rate_limit: 1
throttle_wait: 30s
proxy_url: http://proxy:3128
tls_config: {ca_file: /etc/ssl/feishu-ca.pem}
`
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(in))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.WebhookURLFile != "/run/secrets/feishu_url" || c.SecretFile != "/run/secrets/feishu_secret" || c.MessageType != Card ||
		!slices.Equal(c.At.UserIDs, []string{"ou_xxx"}) || c.Language != receivers.English || c.RateLimit != 1 ||
		c.ThrottleWait.Std() != 30*time.Second || c.ProxyURL != "http://proxy:3128" || c.TLSConfig.CAFile != "/etc/ssl/feishu-ca.pem" {
		t.Fatalf("decoded %+v", c)
	}
	got := c.SecretFiles()
	if got["webhook_url_file"] != "/run/secrets/feishu_url" || got["secret_file"] != "/run/secrets/feishu_secret" {
		t.Errorf("secret files %v", got)
	}
}

func TestSignedDelivery(t *testing.T) {
	f := feishutest.New(t)
	f.SetSecret(testSecret)
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte(testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]receivers.RobotSecret{"secret": {Secret: testSecret}, "secret_file": {SecretFile: file}} {
		t.Run(name, func(t *testing.T) {
			r := newReceiver(t, Config{RobotConfig: hook(f.URL()), RobotSecret: s})
			msg := sendOne(t, f, r, receivertest.Message(2, "firing", "critical"))
			if !msg.Signed || msg.Timestamp == "" || msg.Sign == "" {
				t.Fatalf("not signed: %+v", msg)
			}
			if msg.MsgType != "interactive" || msg.Card.Header.Template != "red" || msg.Title() != "[告警:2] GPUTemperatureHigh (gpu-render-a)" ||
				!msg.Card.Config.WideScreenMode || !strings.Contains(msg.Text(), "GPU 0 on gpu-node-02 is at 87°C") {
				t.Fatalf("card = %s", msg.Raw)
			}
		})
	}
}

// Feishu checks the timestamp's window and the signature itself; so does the fake, on
// the real clock, and Sign agrees with it.
func TestFakeChecksTheTimestampWindow(t *testing.T) {
	f := feishutest.New(t)
	f.SetSecret(testSecret)
	now := time.Now()
	for _, tt := range []struct {
		name   string
		at     time.Time
		secret string
		code   int
	}{
		{"now", now, testSecret, 0},
		{"half an hour ago", now.Add(-30 * time.Minute), testSecret, 0},
		{"two hours ago", now.Add(-2 * time.Hour), testSecret, feishutest.CodeSignature},
		{"in two hours", now.Add(2 * time.Hour), testSecret, feishutest.CodeSignature},
		{"another secret", now, "SECother", feishutest.CodeSignature},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts, sign := Sign(tt.secret, tt.at)
			body := fmt.Sprintf(`{"timestamp":%q,"sign":%q,"msg_type":"text","content":{"text":"hi"}}`, ts, sign)
			if code := post(t, f.URL(), body); code != tt.code {
				t.Fatalf("code %d, want %d", code, tt.code)
			}
		})
	}
}

// The fake's size limit is on the whole body, byte-exact.
func TestFakeSizeLimit(t *testing.T) {
	f := feishutest.New(t)
	frame := `{"msg_type":"text","content":{"text":""}}`
	for size, code := range map[int]int{feishutest.MaxBody: 0, feishutest.MaxBody + 1: feishutest.CodeParams} {
		body := strings.Replace(frame, `""`, `"`+strings.Repeat("x", size-len(frame))+`"`, 1)
		if len(body) != size {
			t.Fatalf("body of %d bytes, want %d", len(body), size)
		}
		if got := post(t, f.URL(), body); got != code {
			t.Errorf("%d bytes: code %d, want %d", size, got, code)
		}
	}
}

// The fake's Rings reads tags as Feishu does, entities decoded: the mention test below
// would catch an escape that lets one through.
func TestFakeRings(t *testing.T) {
	f := feishutest.New(t)
	for text, want := range map[string][]string{
		`<at user_id="ou_1"></at> and <at id=all></at>`: {"ou_1", "all"},
		`&#60;at id=all&#62;&#60;/at&#62;`:              {"all"},
		`＜at user_id="all"＞＜/at＞ @all ＠all`:             nil,
	} {
		body, _ := receivers.MarshalJSON(map[string]any{"msg_type": "text", "content": map[string]string{"text": text}})
		if code := post(t, f.URL(), string(body)); code != 0 {
			t.Fatalf("code %d", code)
		}
		msgs := f.Messages()
		if got := msgs[len(msgs)-1].Rings(); !slices.Equal(got, want) {
			t.Errorf("%s rings %q, want %q", text, got, want)
		}
	}
}

func post(t *testing.T, u, body string) int {
	t.Helper()
	resp, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct{ Code int }
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return a.Code
}

// One alert, with mentions, as a card: the exact request.
func TestCardBody(t *testing.T) {
	f := feishutest.New(t)
	r := newReceiver(t, Config{RobotConfig: hook(f.URL()), At: At{UserIDs: []string{"ou_1a2b"}, All: true}})
	msg := sendOne(t, f, r, receivertest.Message(1, "firing", "warning"))
	want := `{"msg_type":"interactive","card":{"config":{"wide_screen_mode":true},"header":{"title":{"tag":"plain_text","content":"[告警:1] GPUTemperatureHigh (gpu-render-a)"},"template":"orange"},"elements":[` +
		`{"tag":"div","text":{"tag":"lark_md","content":"**【告警】GPUTemperatureHigh** · warning · gpu-node-01:9400\n\nGPU 0 on gpu-node-01 is at 87°C\n\n开始：2026-11-21 16:00:00 CST [查看](http://prometheus:9090/graph)"}},` +
		`{"tag":"div","text":{"tag":"lark_md","content":"<at id=ou_1a2b></at> <at id=all></at>"}}]}}`
	if string(msg.Raw) != want {
		t.Fatalf("body\n got %s\nwant %s", msg.Raw, want)
	}
	if got := msg.Rings(); !slices.Equal(got, []string{"ou_1a2b", "all"}) {
		t.Errorf("rings %q", got)
	}
}

func TestTextBody(t *testing.T) {
	f := feishutest.New(t)
	f.SetSecret(testSecret)
	r := newReceiver(t, Config{RobotConfig: typed(hook(f.URL()), Text), RobotSecret: receivers.RobotSecret{Secret: testSecret},
		At: At{UserIDs: []string{"ou_1a2b"}, All: true}})
	msg := sendOne(t, f, r, receivertest.Message(1, "resolved", "critical"))
	want := "[恢复] GPUTemperatureHigh (gpu-render-a)\n" +
		"【恢复】GPUTemperatureHigh gpu-node-01:9400：GPU 0 on gpu-node-01 is at 87°C（开始 2026-11-21 16:00:00 CST，恢复 2026-11-21 17:00:00 CST）\n" +
		`<at user_id="ou_1a2b"></at> <at user_id="all"></at>`
	if msg.MsgType != "text" || msg.Content == nil || msg.Content.Text != want || msg.Card != nil {
		t.Fatalf("body %s\nwant text %q", msg.Raw, want)
	}
	if got := msg.Rings(); !slices.Equal(got, []string{"ou_1a2b", "all"}) {
		t.Errorf("rings %q", got)
	}
}

func TestColors(t *testing.T) {
	for sev, want := range map[string]string{"critical": "red", "warning": "orange", "info": "blue", "": "blue"} {
		if got := Color(receivertest.Message(1, "firing", sev).Data); got != want {
			t.Errorf("firing %q: %s, want %s", sev, got, want)
		}
	}
	if got := Color(receivertest.Message(1, "resolved", "critical").Data); got != "green" {
		t.Errorf("resolved: %s", got)
	}
	m := receivertest.Message(3, "firing", "warning")
	m.Data.Alerts[1].Labels["severity"] = "critical"
	if got := Color(m.Data); got != "red" {
		t.Errorf("a critical among warnings: %s", got)
	}
	m.Data.Alerts[1].Status = "resolved"
	if got := Color(m.Data); got != "orange" {
		t.Errorf("a resolved critical among firing warnings: %s", got)
	}
}

func TestLegacyAnswer(t *testing.T) {
	f := feishutest.New(t)
	f.Legacy(true)
	sendOne(t, f, newReceiver(t, Config{RobotConfig: hook(f.URL())}), receivertest.Message(1, "firing", "critical"))
}

// Feishu's rate limit pauses the receiver for throttle_wait, and the message goes out
// exactly once on the next try.
func TestThrottleThenOneDelivery(t *testing.T) {
	for _, tt := range []struct {
		code int
		wait duration.Duration
		want time.Duration
	}{
		{feishutest.CodeTooManyRequests, 0, DefaultThrottleWait},
		{feishutest.CodeFrequencyLimited, duration.Duration(42 * time.Second), 42 * time.Second},
	} {
		t.Run(strconv.Itoa(tt.code), func(t *testing.T) {
			f := feishutest.New(t)
			f.Throttle(1, tt.code)
			r := newReceiver(t, Config{RobotConfig: receivers.RobotConfig{WebhookURL: receivers.Secret(f.URL()), ThrottleWait: tt.wait}})
			m := receivertest.Message(1, "firing", "critical")
			err := r.Send(context.Background(), m)
			var th *receivers.ThrottledError
			if !errors.As(err, &th) || th.RetryAfter != tt.want || receivers.IsPermanent(err) {
				t.Fatalf("err = %v, want throttled for %s", err, tt.want)
			}
			if !strings.Contains(err.Error(), strconv.Itoa(tt.code)) {
				t.Errorf("the error does not keep the code: %v", err)
			}
			if f.Throttled() != 1 || len(f.Messages()) != 0 {
				t.Fatalf("throttled %d, %d messages: want 1 and none", f.Throttled(), len(f.Messages()))
			}
			if err := r.Send(context.Background(), m); err != nil {
				t.Fatalf("after the rate limit: %v", err)
			}
			if f.Throttled() != 1 || len(f.Messages()) != 1 {
				t.Fatalf("throttled %d, %d messages: want 1 and 1", f.Throttled(), len(f.Messages()))
			}
		})
	}
}

// Security refusals are permanent, and say which setting to check.
func TestSecurityFailuresArePermanent(t *testing.T) {
	f := feishutest.New(t)
	f.SetSecret(testSecret)
	signed := Config{RobotConfig: hook(f.URL()), RobotSecret: receivers.RobotSecret{Secret: testSecret}}
	wrongToken := strings.Replace(f.URL(), feishutest.Token, "00000000-0000-0000-0000-000000000000", 1)
	for _, tt := range []struct {
		name  string
		c     Config
		fail  int // the fake's security knob
		code  int
		hints []string
	}{
		{"wrong secret", Config{RobotConfig: hook(f.URL()), RobotSecret: receivers.RobotSecret{Secret: "SECwr0ngWr0ngWr0ng"}}, 0, 19021, []string{"secret_file", "clock"}},
		{"unsigned", Config{RobotConfig: hook(f.URL())}, 0, 19021, []string{"secret_file", "clock"}},
		{"ip not allowed", signed, feishutest.CodeIPNotAllowed, 19022, []string{"IP allow-list"}},
		{"keyword", signed, feishutest.CodeKeyword, 19024, []string{"keyword", "signing"}},
		{"wrong token", Config{RobotConfig: hook(wrongToken), RobotSecret: signed.RobotSecret}, 0, 19001, []string{"webhook_url"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f.FailSecurity(tt.fail)
			err := newReceiver(t, tt.c).Send(context.Background(), receivertest.Message(1, "firing", "critical"))
			if err == nil || !receivers.IsPermanent(err) {
				t.Fatalf("err = %v, want permanent", err)
			}
			var ae *receivers.AnswerError
			if !errors.As(err, &ae) || ae.Code != tt.code {
				t.Fatalf("err = %v, want code %d", err, tt.code)
			}
			for _, h := range tt.hints {
				if !strings.Contains(err.Error(), h) {
					t.Errorf("%v does not say %q", err, h)
				}
			}
			receivertest.NoSecrets(t, "error", err.Error(), f.URL(), feishutest.Token, testSecret)
		})
	}
	if n := len(f.Messages()); n != 0 {
		t.Errorf("the fake accepted %d messages", n)
	}
}

func TestUnknownCodeHasLimitedRetries(t *testing.T) {
	f := feishutest.New(t)
	f.Refuse(12345, "something odd")
	err := newReceiver(t, Config{RobotConfig: hook(f.URL())}).Send(context.Background(), receivertest.Message(1, "firing", "critical"))
	attempts, ok := receivers.RetryLimit(err)
	if err == nil || !ok || attempts != receivers.UnknownCodeAttempts || receivers.IsPermanent(err) {
		t.Fatalf("err = %v: limit %d %v, want %d attempts", err, attempts, ok, receivers.UnknownCodeAttempts)
	}
	if !strings.Contains(err.Error(), "12345") || !strings.Contains(err.Error(), "something odd") {
		t.Errorf("the error does not keep the code and message: %v", err)
	}
}

// 5xx and answers that are not Feishu's (a proxy's page) are retried, neither permanent
// nor throttled nor limited.
func TestRetryableAnswers(t *testing.T) {
	f := feishutest.New(t)
	r := newReceiver(t, Config{RobotConfig: hook(f.URL())})
	for _, tt := range []struct {
		name   string
		status int
		body   string // a 200 answer's body, when status is 0
	}{
		{"502", http.StatusBadGateway, ""},
		{"503", http.StatusServiceUnavailable, ""},
		{"not JSON", 0, "<html>upstream says hello</html>"},
		{"JSON without a code", 0, `{"data":{}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f.FailStatus(tt.status)
			if tt.body != "" {
				f.SetAnswer(func(w http.ResponseWriter) { io.WriteString(w, tt.body) })
			} else {
				f.SetAnswer(nil)
			}
			err := r.Send(context.Background(), receivertest.Message(1, "firing", "critical"))
			var th *receivers.ThrottledError
			_, limited := receivers.RetryLimit(err)
			if err == nil || receivers.IsPermanent(err) || errors.As(err, &th) || limited {
				t.Fatalf("err = %v, want a plain retryable error", err)
			}
			if tt.body != "" && !strings.Contains(err.Error(), tt.body[:10]) {
				t.Errorf("the error does not quote the answer: %v", err)
			}
		})
	}
	if n := len(f.Messages()); n != 0 {
		t.Errorf("the fake accepted %d messages", n)
	}
}

var moreNote = map[receivers.Language]*regexp.Regexp{
	receivers.Chinese: regexp.MustCompile(`\n…另有 (\d+) 条告警$`),
	receivers.English: regexp.MustCompile(`\n\.\.\. and (\d+) more alerts$`),
}

// A 200-alert group fits in Feishu's 20,000 bytes, ends with the note, and the note's
// count is right; the fake (which refuses a byte more) took it.
func TestSizeLimit(t *testing.T) {
	for _, tt := range []struct {
		msgType string
		lang    receivers.Language
		signed  bool
	}{
		{Card, receivers.Chinese, true},
		{Card, receivers.English, false},
		{Text, receivers.Chinese, false},
		{Text, receivers.English, true},
	} {
		t.Run(fmt.Sprintf("%s %s signed %v", tt.msgType, tt.lang, tt.signed), func(t *testing.T) {
			f := feishutest.New(t)
			c := Config{RobotConfig: typed(receivers.RobotConfig{WebhookURL: receivers.Secret(f.URL()), Language: tt.lang}, tt.msgType),
				At: At{UserIDs: []string{"ou_1a2b"}, All: true}}
			if tt.signed {
				f.SetSecret(testSecret)
				c.Secret = testSecret
			}
			msg := sendOne(t, f, newReceiver(t, c), receivertest.Message(200, "firing", "critical"))
			if len(msg.Raw) > MaxBody || len(msg.Raw) < MaxBody-1000 || !utf8.Valid(msg.Raw) {
				t.Fatalf("body of %d bytes (valid UTF-8: %v), want at most %d and close to it", len(msg.Raw), utf8.Valid(msg.Raw), MaxBody)
			}
			text := msg.Text()
			if tt.msgType == Text {
				text = strings.TrimSuffix(text, "\n"+`<at user_id="ou_1a2b"></at> <at user_id="all"></at>`)
			}
			sub := moreNote[tt.lang].FindStringSubmatch(text)
			if sub == nil || !utf8.ValidString(text) {
				t.Fatalf("text ends %q", text[max(0, len(text)-80):])
			}
			left, _ := strconv.Atoi(sub[1])
			shown := strings.Count(text, "GPU 0 on gpu-node-")
			if left == 0 || shown+left != 200 {
				t.Fatalf("%d alerts shown and the note says %d more, want 200 in all", shown, left)
			}
			if got := msg.Rings(); !slices.Equal(got, []string{"ou_1a2b", "all"}) {
				t.Errorf("the mentions did not survive the cut: rings %q", got)
			}
		})
	}
}

// The measure Fit cuts by is the request's exact size, whatever the text holds.
func TestMeasureIsExact(t *testing.T) {
	texts := []string{"", "plain", `quote " backslash \ slash /`, "<at id=all></at> & 中文 °C", "\u2028\u2029 \x01\x1f\t\n\r", strings.Repeat("告警", 100)}
	for _, msgType := range []string{Card, Text} {
		for _, signed := range []bool{false, true} {
			c := Config{RobotConfig: typed(hook("https://open.feishu.cn/open-apis/bot/v2/hook/x"), msgType), At: At{UserIDs: []string{"ou_1"}, All: true}}
			r := New(&c, receivertest.Prepare(t, &c))
			ts, sign := "", ""
			if signed {
				ts, sign = Sign(testSecret, time.Now())
			}
			m := receivertest.Message(1, "firing", "critical")
			m.Data.GroupLabels["hostgroup"] = "a\"b\\c\u2028"
			f, _, fit, err := r.prepare(m, ts, sign)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range texts {
				body, err := receivers.MarshalJSON(f.request(s))
				if err != nil {
					t.Fatal(err)
				}
				if got := fit.Size(s); got != len(body) {
					t.Errorf("%s signed %v, text %q: measured %d, the body is %d bytes", msgType, signed, s, got, len(body))
				}
			}
		}
	}
}

// One alert with a huge annotation is cut inside the limit, never inside a character;
// with a second alert, the note counts it.
func TestHugeAnnotationIsCut(t *testing.T) {
	for _, msgType := range []string{Card, Text} {
		for pad := range 3 {
			for _, n := range []int{1, 2} {
				t.Run(fmt.Sprintf("%s pad %d alerts %d", msgType, pad, n), func(t *testing.T) {
					f := feishutest.New(t)
					r := newReceiver(t, Config{RobotConfig: typed(hook(f.URL()), msgType)})
					m := receivertest.Message(n, "firing", "critical")
					m.Data.Alerts[0].Annotations["summary"] = strings.Repeat("x", pad) + strings.Repeat("显卡温度过高！", 3000)
					msg := sendOne(t, f, r, m)
					text := msg.Text()
					if len(msg.Raw) > MaxBody || !utf8.Valid(msg.Raw) || !utf8.ValidString(text) || !strings.Contains(text, "…") {
						t.Fatalf("body of %d bytes, valid %v, text ends %q", len(msg.Raw), utf8.Valid(msg.Raw), text[max(0, len(text)-60):])
					}
					if !strings.Contains(text, "GPUTemperatureHigh") {
						t.Errorf("the cut lost the alert's name: %q", text[:100])
					}
					if n == 2 && !strings.HasSuffix(text, "\n…另有 1 条告警") {
						t.Errorf("text ends %q, want the note of 1 more", text[max(0, len(text)-60):])
					}
				})
			}
		}
	}
}

// Labels and annotations can mention nobody and make no markup; the configured `at`
// rings, and only it.
func TestMentionsAreOurs(t *testing.T) {
	injected := strings.Join([]string{"@13800000000", "<@zhangsan>", `<at user_id="all"></at>`, `<at id=all></at>`, "[x](http://evil)",
		"\n# heading", "&#60;at id=all&#62;&#60;/at&#62;", `&lt;at user_id="all"&gt;&lt;/at&gt;`}, " ")
	for _, msgType := range []string{Card, Text} {
		for _, at := range []At{{}, {UserIDs: []string{"ou_1a2b"}, All: true}} {
			t.Run(fmt.Sprintf("%s at %v", msgType, at), func(t *testing.T) {
				f := feishutest.New(t)
				r := newReceiver(t, Config{RobotConfig: typed(hook(f.URL()), msgType), At: at})
				m := receivertest.Message(2, "firing", "critical")
				m.Data.GroupLabels["hostgroup"] = injected
				m.Data.CommonLabels["alertname"] = injected
				for i := range m.Data.Alerts {
					a := &m.Data.Alerts[i]
					a.Labels["instance"], a.Labels["alertname"] = injected, injected
					a.Annotations["summary"] = injected
				}
				m.Data.Alerts[1].GeneratorURL = "http://evil/)[x](http://evil2) <at id=all>"
				msg := sendOne(t, f, r, m)
				want := at.UserIDs
				if at.All {
					want = append(slices.Clone(want), "all")
				}
				if got := msg.Rings(); !slices.Equal(got, want) {
					t.Errorf("rings %q, want %q: %s", got, want, msg.Raw)
				}
				for _, l := range msg.Links() {
					if l != "http://prometheus:9090/graph" && l != "http://evil/%29%5Bx%5D%28http://evil2%29%20%3Cat%20id=all%3E" {
						t.Errorf("a link to %q: %s", l, msg.Raw)
					}
				}
				for _, s := range append(msg.Markdown(), msg.Title(), msg.Text()) {
					for _, line := range strings.Split(s, "\n") {
						if strings.HasPrefix(strings.TrimSpace(line), "#") {
							t.Errorf("a heading: %q", line)
						}
					}
				}
				if !strings.Contains(msg.Text(), "＠13800000000") {
					t.Errorf("the data is not shown: %q", msg.Text())
				}
			})
		}
	}
}

// Folding: 30 small notifications make one message, which Feishu takes; 200-alert ones
// do not fold. Fits and Send cut at the same place.
func TestFold(t *testing.T) {
	f := feishutest.New(t)
	f.SetSecret(testSecret)
	r := newReceiver(t, Config{RobotConfig: hook(f.URL()), RobotSecret: receivers.RobotSecret{Secret: testSecret}})
	var small []*receivers.Message
	for i := range 30 {
		m := receivertest.Message(1, "firing", "warning")
		m.ID = int64(i + 1)
		m.Data.Alerts[0].Labels["instance"] = fmt.Sprintf("render-%02d:9400", i)
		small = append(small, m)
	}
	folded, n, err := receivers.Fold(r, small)
	if err != nil || n != 30 {
		t.Fatalf("folded %d of 30: %v", n, err)
	}
	msg := sendOne(t, f, r, folded)
	if strings.Contains(msg.Text(), "另有") || strings.Count(msg.Text(), "render-") != 30 || len(msg.Raw) > MaxBody {
		t.Fatalf("the digest of %d bytes: %s", len(msg.Raw), msg.Raw)
	}

	big := []*receivers.Message{receivertest.Message(200, "firing", "warning"), receivertest.Message(200, "firing", "warning"), receivertest.Message(200, "firing", "warning")}
	if _, n, err := receivers.Fold(r, big); err != nil || n != 1 {
		t.Fatalf("folded %d 200-alert notifications: %v", n, err)
	}

	// The largest group that Fits goes out whole; one alert more gets the note.
	k := 1
	for ; ; k++ {
		ok, err := r.Fits(receivertest.Message(k+1, "firing", "warning"))
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
	}
	if k < 10 {
		t.Fatalf("only %d alerts fit", k)
	}
	if text := sendOne(t, f, r, receivertest.Message(k, "firing", "warning")).Text(); strings.Contains(text, "另有") {
		t.Errorf("%d alerts Fit but Send cut them: %q", k, text[len(text)-40:])
	}
	if text := sendOne(t, f, r, receivertest.Message(k+1, "firing", "warning")).Text(); !strings.HasSuffix(text, "\n…另有 1 条告警") {
		t.Errorf("%d alerts do not Fit but Send did not cut them: %q", k+1, text[len(text)-40:])
	}
}

func TestProxy(t *testing.T) {
	for name, fake := range map[string]func(testing.TB) *feishutest.Fake{"http": feishutest.New, "https CONNECT": feishutest.NewTLS} {
		t.Run(name, func(t *testing.T) {
			f := fake(t)
			p := receivertest.NewProxy(t)
			c := Config{RobotConfig: hook(f.URL())}
			c.ProxyURL = receivers.Secret(p.URL())
			if strings.HasPrefix(f.URL(), "https") {
				c.TLSConfig.CAFile = receivertest.CAFile(t, f.Server())
			}
			sendOne(t, f, newReceiver(t, c), receivertest.Message(1, "firing", "critical"))
			if host := f.Server().Listener.Addr().String(); !slices.Contains(p.Hosts(), host) {
				t.Fatalf("the proxy saw %q, not %s", p.Hosts(), host)
			}
		})
	}
}

func TestPrivateCA(t *testing.T) {
	f := feishutest.NewTLS(t)
	err := newReceiver(t, Config{RobotConfig: hook(f.URL())}).Send(context.Background(), receivertest.Message(1, "firing", "critical"))
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a server of an unknown CA: %v", err)
	}
	receivertest.NoSecrets(t, "error", err.Error(), f.URL(), feishutest.Token)
	c := Config{RobotConfig: hook(f.URL())}
	c.TLSConfig.CAFile = receivertest.CAFile(t, f.Server())
	sendOne(t, f, newReceiver(t, c), receivertest.Message(1, "firing", "critical"))
}

// A destination whose error page quotes the request, or a closed one: no error keeps the
// webhook URL, its token, the signing secret or the proxy's password.
func TestSecretsNeverLeak(t *testing.T) {
	echo := receivertest.Echo(t)
	const token = "5e7c1f0a-9d2b-4c3e-8f1a-6b0d2e9c7a45"
	url := echo.URL + feishutest.HookPath + token
	proxy := receivertest.NewProxy(t)
	proxyURL := strings.Replace(proxy.URL(), "http://", "http://alice:pr0xyPa55w0rd@", 1)
	dir := t.TempDir()
	urlFile, secretFile := filepath.Join(dir, "url"), filepath.Join(dir, "secret")
	os.WriteFile(urlFile, []byte(url+"\n"), 0o600)
	os.WriteFile(secretFile, []byte(testSecret), 0o600)
	closed := feishutest.New(t)
	closed.Close()
	for name, c := range map[string]Config{
		"inline":      {RobotConfig: hook(url), RobotSecret: receivers.RobotSecret{Secret: testSecret}},
		"files":       {RobotConfig: typed(receivers.RobotConfig{WebhookURLFile: urlFile}, Text), RobotSecret: receivers.RobotSecret{SecretFile: secretFile}},
		"proxy":       {RobotConfig: receivers.RobotConfig{WebhookURL: receivers.Secret(url), HTTPClientConfig: receivers.HTTPClientConfig{ProxyURL: receivers.Secret(proxyURL)}}, RobotSecret: receivers.RobotSecret{Secret: testSecret}},
		"unreachable": {RobotConfig: hook(strings.Replace(closed.URL(), feishutest.Token, token, 1)), RobotSecret: receivers.RobotSecret{Secret: testSecret}},
	} {
		t.Run(name, func(t *testing.T) {
			err := newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "firing", "critical"))
			if err == nil {
				t.Fatal("no error")
			}
			receivertest.NoSecrets(t, "error", err.Error(), url, token, testSecret, proxyURL, "pr0xyPa55w0rd")
		})
	}
}

// A secret file that is missing is named in the error; no secret's content is.
func TestMissingSecretFile(t *testing.T) {
	f := feishutest.New(t)
	dir := t.TempDir()
	urlFile, secretFile := filepath.Join(dir, "feishu_url"), filepath.Join(dir, "feishu_secret")
	os.WriteFile(urlFile, []byte(f.URL()), 0o600)
	os.WriteFile(secretFile, []byte(testSecret), 0o600)
	missing := filepath.Join(dir, "missing_file")
	for name, c := range map[string]Config{
		"secret_file":      {RobotConfig: receivers.RobotConfig{WebhookURLFile: urlFile}, RobotSecret: receivers.RobotSecret{SecretFile: missing}},
		"webhook_url_file": {RobotConfig: receivers.RobotConfig{WebhookURLFile: missing}, RobotSecret: receivers.RobotSecret{SecretFile: secretFile}},
	} {
		t.Run(name, func(t *testing.T) {
			err := newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "firing", "critical"))
			if err == nil || !strings.Contains(err.Error(), missing) {
				t.Fatalf("err = %v, want it to name %s", err, missing)
			}
			receivertest.NoSecrets(t, "error", err.Error(), f.URL(), feishutest.Token, testSecret)
		})
	}
	if len(f.Messages()) != 0 {
		t.Error("sent without its secret")
	}
}

// An unsigned bot takes a message without timestamp and sign: the fields are left out.
func TestUnsignedBodyHasNoSignature(t *testing.T) {
	f := feishutest.New(t)
	msg := sendOne(t, f, newReceiver(t, Config{RobotConfig: hook(f.URL())}), receivertest.Message(1, "firing", "critical"))
	if bytes.Contains(msg.Raw, []byte(`"sign"`)) || bytes.Contains(msg.Raw, []byte(`"timestamp"`)) {
		t.Fatalf("body %s", msg.Raw)
	}
	if _, err := url.Parse(f.URL()); err != nil || !strings.Contains(f.URL(), "/open-apis/bot/v2/hook/") {
		t.Fatalf("the fake's URL %s is not shaped as Feishu's", f.URL())
	}
}

// Fits and Send measure alike to the byte, signature included: the longest summary that
// Fits makes a body of exactly MaxBody bytes that Send does not cut, and one byte more
// is cut.
func TestFitsIsByteExact(t *testing.T) {
	for _, msgType := range []string{Card, Text} {
		for _, signed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s signed %v", msgType, signed), func(t *testing.T) {
				f := feishutest.New(t)
				c := Config{RobotConfig: typed(hook(f.URL()), msgType), At: At{UserIDs: []string{"ou_1a2b"}}}
				if signed {
					f.SetSecret(testSecret)
					c.Secret = testSecret
				}
				r := newReceiver(t, c)
				withSummary := func(n int) *receivers.Message {
					m := receivertest.Message(1, "firing", "critical")
					m.Data.Alerts[0].Annotations["summary"] = strings.Repeat("a", n)
					return m
				}
				lo, hi := 0, 2*MaxBody // Fits at lo, not at hi
				for hi-lo > 1 {
					mid := (lo + hi) / 2
					ok, err := r.Fits(withSummary(mid))
					if err != nil {
						t.Fatal(err)
					}
					if ok {
						lo = mid
					} else {
						hi = mid
					}
				}
				msg := sendOne(t, f, r, withSummary(lo))
				if len(msg.Raw) != MaxBody || strings.Contains(msg.Text(), "…") || !strings.Contains(msg.Text(), strings.Repeat("a", lo)) {
					t.Fatalf("the longest summary that Fits (%d bytes) makes a body of %d bytes, cut %v", lo, len(msg.Raw), strings.Contains(msg.Text(), "…"))
				}
				msg = sendOne(t, f, r, withSummary(lo+1))
				if len(msg.Raw) > MaxBody || !strings.Contains(msg.Text(), "…") {
					t.Fatalf("a summary of %d bytes, which does not Fit, makes a body of %d bytes, cut %v", lo+1, len(msg.Raw), strings.Contains(msg.Text(), "…"))
				}
			})
		}
	}
}

// typed is a robot config of the message type.
func typed(rc receivers.RobotConfig, messageType string) receivers.RobotConfig {
	rc.MessageType = messageType
	return rc
}
