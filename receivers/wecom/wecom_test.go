package wecom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/alertmanager/template"
	promconfig "github.com/prometheus/common/config"

	"github.com/alertrouter/alertrouter/config/duration"
	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/receivers/receivertest"
	"github.com/alertrouter/alertrouter/receivers/wecom/wecomtest"
)

func robot(url string) receivers.RobotConfig {
	return receivers.RobotConfig{WebhookURL: receivers.Secret(url)}
}

func newReceiver(t *testing.T, c Config) *Receiver {
	t.Helper()
	return New(&c, receivertest.Prepare(t, &c))
}

func send(t *testing.T, r *Receiver, m *receivers.Message) error {
	t.Helper()
	return r.Send(context.Background(), m)
}

// only returns the one message the fake accepted.
func only(t *testing.T, f *wecomtest.Fake) wecomtest.Message {
	t.Helper()
	msgs := f.Messages()
	if len(msgs) != 1 {
		t.Fatalf("the fake holds %d messages, want 1", len(msgs))
	}
	return msgs[0]
}

func TestValidate(t *testing.T) {
	const hook = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7a0b-4bc4-97a0-0ec2f1fa5a1e"
	tests := []struct {
		name  string
		c     Config
		field string
	}{
		{"minimal", Config{RobotConfig: robot(hook)}, ""},
		{"url file", Config{RobotConfig: receivers.RobotConfig{WebhookURLFile: "/run/secrets/wecom_url"}}, ""},
		{"text with mentions", Config{RobotConfig: typed(robot(hook), "text"), MentionedMobiles: []string{"13800000000", "+8613900000000", "@all"}, MentionedUserIDs: []string{"zhangsan", "li.si@corp", "@all"}}, ""},
		{"markdown with user ids", Config{RobotConfig: robot(hook), MentionedUserIDs: []string{"zhangsan", "WangWu_2"}}, ""},
		{"english", Config{RobotConfig: receivers.RobotConfig{WebhookURL: hook, Language: "en"}}, ""},
		{"no url", Config{}, "webhook_url"},
		{"both urls", Config{RobotConfig: receivers.RobotConfig{WebhookURL: hook, WebhookURLFile: "/f"}}, "webhook_url"},
		{"not a url", Config{RobotConfig: robot("qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k")}, "webhook_url"},
		{"no key", Config{RobotConfig: robot("https://qyapi.weixin.qq.com/cgi-bin/webhook/send")}, "webhook_url"},
		{"unknown message type", Config{RobotConfig: typed(robot(hook), "news")}, "message_type"},
		{"markdown with mobiles", Config{RobotConfig: robot(hook), MentionedMobiles: []string{"13800000000"}}, "mentioned_mobiles"},
		{"markdown with @all", Config{RobotConfig: robot(hook), MentionedUserIDs: []string{"@all"}}, "mentioned_user_ids"},
		{"bad mobile", Config{RobotConfig: typed(robot(hook), "text"), MentionedMobiles: []string{"138 0000 0000"}}, "mentioned_mobiles"},
		{"empty mobile", Config{RobotConfig: typed(robot(hook), "text"), MentionedMobiles: []string{""}}, "mentioned_mobiles"},
		{"markup in a user id", Config{RobotConfig: robot(hook), MentionedUserIDs: []string{"a><@all"}}, "mentioned_user_ids"},
		{"user id too long", Config{RobotConfig: robot(hook), MentionedUserIDs: []string{strings.Repeat("a", 65)}}, "mentioned_user_ids"},
		{"too many mentions", Config{RobotConfig: robot(hook), MentionedUserIDs: slices.Repeat([]string{strings.Repeat("a", 64)}, 20)}, "mentioned_user_ids"},
		{"bad language", Config{RobotConfig: receivers.RobotConfig{WebhookURL: hook, Language: "fr"}}, "language"},
		{"negative rate", Config{RobotConfig: receivers.RobotConfig{WebhookURL: hook, RateLimit: -1}}, "rate_limit"},
		{"negative throttle wait", Config{RobotConfig: receivers.RobotConfig{WebhookURL: hook, ThrottleWait: -1}}, "throttle_wait"},
		{"bad proxy", Config{RobotConfig: receivers.RobotConfig{WebhookURL: hook, HTTPClientConfig: receivers.HTTPClientConfig{ProxyURL: "ftp://p"}}}, "proxy_url"},
		{"missing ca file", Config{RobotConfig: receivers.RobotConfig{WebhookURL: hook, HTTPClientConfig: receivers.HTTPClientConfig{TLSConfig: promconfig.TLSConfig{CAFile: "/nonexistent/ca.pem"}}}}, "tls_config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			if !receivertest.IsFieldError(err, tt.field) {
				t.Fatalf("%v, want a problem with %q", err, tt.field)
			}
			if err != nil {
				receivertest.NoSecrets(t, "validation error", err.Error(), hook, "693a91f6-7a0b-4bc4-97a0-0ec2f1fa5a1e")
			}
		})
	}
}

// The markdown-and-mobiles error says what to do instead: WeCom would drop the mention silently.
func TestValidateSaysHowToMentionMobiles(t *testing.T) {
	c := Config{RobotConfig: robot("https://h/x?key=k"), MentionedMobiles: []string{"13800000000"}}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "message_type: text") || !strings.Contains(err.Error(), "mentioned_user_ids") {
		t.Fatalf("err = %v, want it to point at message_type: text and mentioned_user_ids", err)
	}
}

func TestDefaults(t *testing.T) {
	for _, tt := range []struct {
		c    Config
		text string
	}{
		{Config{RobotConfig: robot("https://h/x?key=k")}, `{{ template "im.zh.markdown" . }}`},
		{Config{RobotConfig: typed(robot("https://h/x?key=k"), "text")}, `{{ template "im.zh.text" . }}`},
		{Config{RobotConfig: typed(receivers.RobotConfig{WebhookURL: "https://h/x?key=k", Language: "en"}, "text")}, `{{ template "im.en.text" . }}`},
	} {
		c := tt.c
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		if c.Text != tt.text || c.Title != c.Language.Template("title") || c.ThrottleWait.Std() != time.Minute {
			t.Errorf("%+v: text %q title %q throttle_wait %s", tt.c, c.Text, c.Title, c.ThrottleWait)
		}
		if rate, burst := New(&c, receivertest.Templates(t)).RateLimit(); rate != 0.25 || burst != 5 {
			t.Errorf("rate limit %v/s burst %d, want 0.25 and 5 (15 a minute, under WeCom's 20)", rate, burst)
		}
	}
	if c := (Config{RobotConfig: robot("https://h/x?key=k")}); c.Validate() != nil || c.MessageType != Markdown {
		t.Errorf("message_type defaults to %q", c.MessageType)
	}
}

// The fake checks the key in the URL, WeCom's only credential: a delivery it recorded
// came with the right one.
func TestMarkdownDelivery(t *testing.T) {
	f := wecomtest.New(t)
	r := newReceiver(t, Config{RobotConfig: robot(f.URL())})
	if err := send(t, r, receivertest.Message(2, "firing", "critical")); err != nil {
		t.Fatal(err)
	}
	m := only(t, f)
	want := "### [告警:2] GPUTemperatureHigh (gpu-render-a)\n\n" +
		"**【告警】GPUTemperatureHigh** · critical · gpu-node-01:9400\n\nGPU 0 on gpu-node-01 is at 87°C\n\n开始：2026-11-21 16:00:00 CST [查看](http://prometheus:9090/graph)\n\n" +
		"**【告警】GPUTemperatureHigh** · critical · gpu-node-02:9400\n\nGPU 0 on gpu-node-02 is at 87°C\n\n开始：2026-11-21 16:00:00 CST [查看](http://prometheus:9090/graph)"
	if m.MsgType != "markdown" || m.Content != want {
		t.Fatalf("%s message\n got %q\nwant %q", m.MsgType, m.Content, want)
	}
	// Marshalled without HTML escaping: WeCom counts the bytes it gets.
	if strings.Contains(string(m.Body), `\u003c`) || strings.Contains(string(m.Body), `\u0026`) {
		t.Errorf("body has HTML escapes: %s", m.Body)
	}
	if got := wecomtest.Rings(m); len(got) != 0 {
		t.Errorf("rings %v, want nobody", got)
	}
}

func TestTextDelivery(t *testing.T) {
	f := wecomtest.New(t)
	r := newReceiver(t, Config{RobotConfig: typed(receivers.RobotConfig{WebhookURL: receivers.Secret(f.URL()), Language: "en"}, "text"), MentionedMobiles: []string{"13800000000"}, MentionedUserIDs: []string{"zhangsan", "@all"}})
	if err := send(t, r, receivertest.Message(1, "resolved", "warning")); err != nil {
		t.Fatal(err)
	}
	m := only(t, f)
	want := "[RESOLVED] GPUTemperatureHigh (gpu-render-a)\n" +
		"[RESOLVED] GPUTemperatureHigh on gpu-node-01:9400: GPU 0 on gpu-node-01 is at 87°C (since 2026-11-21 16:00:00 CST, resolved 2026-11-21 17:00:00 CST)"
	if m.MsgType != "text" || m.Content != want {
		t.Fatalf("%s message\n got %q\nwant %q", m.MsgType, m.Content, want)
	}
	if got := wecomtest.Rings(m); !slices.Equal(got, []string{"zhangsan", "@all", "13800000000"}) {
		t.Errorf("rings %v", got)
	}
}

// The URL is read from its file at every send, so a rotated key takes effect at once.
func TestWebhookURLFile(t *testing.T) {
	f := wecomtest.New(t)
	file := filepath.Join(t.TempDir(), "wecom_url")
	os.WriteFile(file, []byte(f.URLWithKey("old-key-0000")+"\n"), 0o600)
	c := Config{RobotConfig: receivers.RobotConfig{WebhookURLFile: file}}
	if got := c.SecretFiles(); got["webhook_url_file"] != file {
		t.Fatalf("SecretFiles = %v", got)
	}
	r := newReceiver(t, c)
	if err := send(t, r, receivertest.Message(1, "firing", "critical")); !receivers.IsPermanent(err) {
		t.Fatalf("with the old key: %v, want permanent", err)
	}
	os.WriteFile(file, []byte(f.URL()+"\n"), 0o600)
	if err := send(t, r, receivertest.Message(1, "firing", "critical")); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	only(t, f)
}

// WeCom's 45009 pauses the receiver for throttle_wait without counting a failure, and
// the message goes out exactly once on the next try.
func TestThrottleThenOneDelivery(t *testing.T) {
	for _, wait := range []time.Duration{0, 2 * time.Minute} {
		f := wecomtest.New(t)
		f.Throttle(1)
		r := newReceiver(t, Config{RobotConfig: receivers.RobotConfig{WebhookURL: receivers.Secret(f.URL()), ThrottleWait: duration.Duration(wait)}})
		err := send(t, r, receivertest.Message(1, "firing", "critical"))
		want := wait
		if want == 0 {
			want = time.Minute
		}
		var th *receivers.ThrottledError
		if !errors.As(err, &th) || th.RetryAfter != want || receivers.IsPermanent(err) {
			t.Fatalf("err = %v, want throttled for %s", err, want)
		}
		if !strings.Contains(err.Error(), "45009") {
			t.Errorf("the error does not keep the code: %v", err)
		}
		if err := send(t, r, receivertest.Message(1, "firing", "critical")); err != nil {
			t.Fatalf("after the throttle: %v", err)
		}
		if f.Throttled() != 1 || len(f.Messages()) != 1 {
			t.Fatalf("throttled %d, %d messages: want 1 and 1", f.Throttled(), len(f.Messages()))
		}
	}
}

func TestAnswers(t *testing.T) {
	const hint = "check webhook_url"
	tests := []struct {
		name      string
		script    func(f *wecomtest.Fake)
		wrongKey  bool
		permanent bool
		limited   bool
		says      string // what the error must say
	}{
		{name: "wrong key", wrongKey: true, permanent: true, says: hint},
		{name: "IP not allowed", script: func(f *wecomtest.Fake) { f.DenyIP(true) }, permanent: true, says: "IP allow-list"},
		{name: "too long", script: func(f *wecomtest.Fake) { f.Refuse(45002, "content size out of limit") }, permanent: true, says: "45002"},
		{name: "invalid", script: func(f *wecomtest.Fake) { f.Refuse(40058, "invalid parameter") }, permanent: true, says: "40058"},
		{name: "empty", script: func(f *wecomtest.Fake) { f.Refuse(44004, "empty content") }, permanent: true, says: "44004"},
		{name: "bad type", script: func(f *wecomtest.Fake) { f.Refuse(40008, "invalid message type") }, permanent: true, says: "message_type"},
		{name: "system busy", script: func(f *wecomtest.Fake) { f.Refuse(-1, "system busy") }, says: "system busy"},
		{name: "unknown code", script: func(f *wecomtest.Fake) { f.Refuse(48002, "api forbidden") }, limited: true, says: "code 48002 (api forbidden"},
		{name: "5xx", script: func(f *wecomtest.Fake) { f.FailStatus(502) }, says: "502"},
		{name: "not JSON", script: func(f *wecomtest.Fake) { f.SetAnswer(body("<html>portal login " + wecomtest.Key + "</html>")) }, says: "portal login"},
		{name: "JSON without errcode", script: func(f *wecomtest.Fake) { f.SetAnswer(body(`{"status":"ok"}`)) }, says: `without a code: {"status":"ok"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := wecomtest.New(t)
			if tt.script != nil {
				tt.script(f)
			}
			hook := f.URL()
			if tt.wrongKey {
				hook = f.URLWithKey("11111111-2222-3333-4444-555555555555")
			}
			err := send(t, newReceiver(t, Config{RobotConfig: robot(hook)}), receivertest.Message(1, "firing", "critical"))
			if err == nil {
				t.Fatal("no error")
			}
			attempts, limited := receivers.RetryLimit(err)
			var th *receivers.ThrottledError
			if receivers.IsPermanent(err) != tt.permanent || limited != tt.limited || errors.As(err, &th) {
				t.Fatalf("err %v: permanent %v, limited %v, throttled %v", err, receivers.IsPermanent(err), limited, th != nil)
			}
			if limited && attempts != receivers.UnknownCodeAttempts {
				t.Errorf("an unknown code allows %d attempts, want %d", attempts, receivers.UnknownCodeAttempts)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("err %q does not say %q", err, tt.says)
			}
			if len(f.Messages()) != 0 {
				t.Errorf("the fake recorded %d messages", len(f.Messages()))
			}
			receivertest.NoSecrets(t, "error", err.Error(), hook, wecomtest.Key, "11111111-2222-3333-4444-555555555555")
		})
	}
}

// count is how many alerts a content shows, by their status marker.
func count(content, marker string) int { return strings.Count(content, marker) }

// A 200-alert group fits WeCom's byte limits, is taken, and says how many alerts it left out.
func TestSizeLimit(t *testing.T) {
	tests := []struct {
		name, lang, msgType, marker string
		limit                       int
		note                        func(n int) string
	}{
		{"markdown zh", "", "", "**【告警】", MaxMarkdown, func(n int) string { return fmt.Sprintf("\n…另有 %d 条告警", n) }},
		{"markdown en", "en", "", "**[FIRING]", MaxMarkdown, func(n int) string { return fmt.Sprintf("\n... and %d more alerts", n) }},
		{"text zh", "", "text", "\n【告警】", MaxText, func(n int) string { return fmt.Sprintf("\n…另有 %d 条告警", n) }},
		{"text en", "en", "text", "\n[FIRING]", MaxText, func(n int) string { return fmt.Sprintf("\n... and %d more alerts", n) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := wecomtest.New(t)
			r := newReceiver(t, Config{RobotConfig: typed(receivers.RobotConfig{WebhookURL: receivers.Secret(f.URL()), Language: receivers.Language(tt.lang)}, tt.msgType)})
			m := receivertest.Message(200, "firing", "warning")
			for i := range m.Data.Alerts {
				m.Data.Alerts[i].Annotations["summary"] = fmt.Sprintf("GPU %d 温度过高：已持续五分钟超过八十摄氏度", i)
			}
			if err := send(t, r, m); err != nil {
				t.Fatal(err)
			}
			content := only(t, f).Content
			shown := count(content, tt.marker)
			if len(content) > tt.limit || !utf8.ValidString(content) {
				t.Fatalf("content of %d bytes (limit %d), valid UTF-8 %v", len(content), tt.limit, utf8.ValidString(content))
			}
			if shown == 0 || shown == 200 || !strings.HasSuffix(content, tt.note(200-shown)) {
				t.Fatalf("%d alerts shown; content ends %q, want %q", shown, content[max(0, len(content)-80):], tt.note(200-shown))
			}
			// Fit keeps as many alerts as fit: less than one alert's room is left.
			if len(content) < tt.limit-300 {
				t.Errorf("content of %d bytes wastes the limit of %d", len(content), tt.limit)
			}
		})
	}
}

// Configured mentions count against the limit and survive a long message.
func TestMentionsSurviveTheLimit(t *testing.T) {
	f := wecomtest.New(t)
	r := newReceiver(t, Config{RobotConfig: robot(f.URL()), MentionedUserIDs: []string{"zhangsan", "lisi"}})
	if err := send(t, r, receivertest.Message(200, "firing", "critical")); err != nil {
		t.Fatal(err)
	}
	m := only(t, f)
	if len(m.Content) > MaxMarkdown || !strings.HasSuffix(m.Content, "\n\n<@zhangsan> <@lisi>") || !strings.Contains(m.Content, "条告警\n\n<@") {
		t.Fatalf("content of %d bytes ends %q", len(m.Content), m.Content[max(0, len(m.Content)-80):])
	}
	if got := wecomtest.Rings(m); !slices.Equal(got, []string{"zhangsan", "lisi"}) {
		t.Errorf("rings %v", got)
	}
}

// One alert alone too long is cut, never inside a character, at any byte offset.
func TestHugeAnnotationIsCut(t *testing.T) {
	for _, tt := range []struct {
		msgType  string
		limit    int
		mentions []string
	}{{"", MaxMarkdown, nil}, {"", MaxMarkdown, []string{"zhangsan"}}, {"text", MaxText, nil}} {
		for offset := range 3 {
			f := wecomtest.New(t)
			r := newReceiver(t, Config{RobotConfig: typed(robot(f.URL()), tt.msgType), MentionedUserIDs: tt.mentions})
			m := receivertest.Message(1, "firing", "critical")
			m.Data.Alerts[0].Annotations["summary"] = strings.Repeat("x", offset) + strings.Repeat("温度过高", 2000)
			if err := send(t, r, m); err != nil {
				t.Fatalf("%s offset %d: %v", tt.msgType, offset, err)
			}
			c := only(t, f).Content
			if len(c) > tt.limit || len(c) < tt.limit-16 || !utf8.ValidString(c) || !strings.HasSuffix(strings.TrimSuffix(c, mentionLine(tt.mentions)), "…") || strings.Contains(c, "另有") {
				t.Fatalf("%s offset %d: %d bytes, valid %v, ends %q", tt.msgType, offset, len(c), utf8.ValidString(c), c[max(0, len(c)-40):])
			}
			if tt.mentions != nil && !strings.HasSuffix(c, "<@zhangsan>") {
				t.Errorf("the mention was cut: ends %q", c[max(0, len(c)-40):])
			}
		}
	}
}

// A group label the size of the limit cannot crowd the alerts out: the title is cut.
func TestHugeTitleIsCut(t *testing.T) {
	f := wecomtest.New(t)
	r := newReceiver(t, Config{RobotConfig: robot(f.URL())})
	m := receivertest.Message(3, "firing", "critical")
	m.Data.GroupLabels["hostgroup"] = strings.Repeat("机房", 2000)
	if err := send(t, r, m); err != nil {
		t.Fatal(err)
	}
	c := only(t, f).Content
	if len(c) > MaxMarkdown || !utf8.ValidString(c) || count(c, "**【告警】") != 3 {
		t.Fatalf("%d bytes, %d alerts: %q", len(c), count(c, "**【告警】"), c[:200])
	}
}

// Mentions are ours, never the data's: values that would mention someone or make markup
// on WeCom ring nobody and render as text.
func TestInjectedMentions(t *testing.T) {
	inject := func() *receivers.Message {
		m := receivertest.Message(2, "firing", "critical")
		a0, a1 := &m.Data.Alerts[0], &m.Data.Alerts[1]
		a0.Labels["instance"] = "@13800000000"
		a0.Annotations["summary"] = `<@zhangsan> <at user_id="all"></at> [x](http://evil) <@all>`
		a0.Labels["<@wangwu>"] = "x"
		a0.GeneratorURL = "http://prometheus:9090/graph?g0.expr=up)[y](http://evil"
		a1.Labels["instance"] = "<@lisi>"
		a1.Annotations["summary"] = "ok\n# heading\n### another\n&#60;at id=all&#62; <font color=\"warning\">red</font>"
		m.Data.GroupLabels["hostgroup"] = "<@zhaoliu>\n### pwned"
		m.Data.Alerts = template.Alerts{*a0, *a1}
		return m
	}
	t.Run("markdown", func(t *testing.T) {
		f := wecomtest.New(t)
		if err := send(t, newReceiver(t, Config{RobotConfig: robot(f.URL())}), inject()); err != nil {
			t.Fatal(err)
		}
		m := only(t, f)
		if got := wecomtest.Rings(m); len(got) != 0 {
			t.Errorf("data rings %v:\n%s", got, m.Content)
		}
		if got := wecomtest.Headings(m); len(got) != 1 || !strings.HasPrefix(got[0], "[告警:2]") {
			t.Errorf("headings %q, want the title alone:\n%s", got, m.Content)
		}
		links := wecomtest.Links(m)
		if len(links) != 2 {
			t.Errorf("links %q, want the two generator links:\n%s", links, m.Content)
		}
		for _, l := range links {
			if !strings.HasPrefix(l, "http://prometheus:9090/graph") || strings.ContainsAny(l, "()[]<>@ ") {
				t.Errorf("link %q", l)
			}
		}
		for _, tag := range []string{"<at", "<font", "&#60;", "<@"} {
			if strings.Contains(m.Content, tag) {
				t.Errorf("content has %q:\n%s", tag, m.Content)
			}
		}
		// The values are still there for people to read.
		for _, v := range []string{"＜＠zhangsan＞", "＠13800000000", "＜＠lisi＞", "＃ heading"} {
			if !strings.Contains(m.Content, v) {
				t.Errorf("content lost %q:\n%s", v, m.Content)
			}
		}
	})
	t.Run("markdown with configured mentions", func(t *testing.T) {
		f := wecomtest.New(t)
		if err := send(t, newReceiver(t, Config{RobotConfig: robot(f.URL()), MentionedUserIDs: []string{"oncall"}}), inject()); err != nil {
			t.Fatal(err)
		}
		if got := wecomtest.Rings(only(t, f)); !slices.Equal(got, []string{"oncall"}) {
			t.Errorf("rings %v, want [oncall]", got)
		}
	})
	t.Run("text with configured mentions", func(t *testing.T) {
		f := wecomtest.New(t)
		r := newReceiver(t, Config{RobotConfig: typed(robot(f.URL()), "text"), MentionedMobiles: []string{"13900000000"}, MentionedUserIDs: []string{"oncall"}})
		if err := send(t, r, inject()); err != nil {
			t.Fatal(err)
		}
		m := only(t, f)
		if got := wecomtest.Rings(m); !slices.Equal(got, []string{"oncall", "13900000000"}) {
			t.Errorf("rings %v, want [oncall 13900000000]", got)
		}
		if strings.Contains(m.Content, "@13800000000") || strings.Contains(m.Content, "<@") {
			t.Errorf("content: %s", m.Content)
		}
	})
}

// notifications are n notifications of size alerts each, with distinct instances.
func notifications(n, size int) []*receivers.Message {
	var out []*receivers.Message
	for i := range n {
		m := receivertest.Message(size, "firing", "critical")
		m.ID = int64(i + 1)
		for j := range m.Data.Alerts {
			m.Data.Alerts[j].Labels["instance"] = fmt.Sprintf("node-%02d-%03d", i, j)
		}
		out = append(out, m)
	}
	return out
}

func TestFold(t *testing.T) {
	f := wecomtest.New(t)
	r := newReceiver(t, Config{RobotConfig: robot(f.URL())})

	small := notifications(30, 1)
	for _, m := range small {
		m.Data.Alerts[0].Annotations["summary"] = "GPU 过热"
		m.Data.Alerts[0].GeneratorURL = ""
	}
	folded, n, err := receivers.Fold(r, small)
	if err != nil || n != 30 {
		t.Fatalf("30 small notifications: folded %d, %v", n, err)
	}
	if err := send(t, r, folded); err != nil {
		t.Fatal(err)
	}
	c := only(t, f).Content
	if got := count(c, "**【告警】"); got != 30 || strings.Contains(c, "另有") || len(c) > MaxMarkdown {
		t.Fatalf("the digest shows %d alerts in %d bytes", got, len(c))
	}

	msgs := notifications(30, 5)
	folded, n, err = receivers.Fold(r, msgs)
	if err != nil || n <= 1 || n >= 30 {
		t.Fatalf("5-alert notifications: folded %d, %v", n, err)
	}
	if ok, err := r.Fits(folded); !ok || err != nil {
		t.Fatalf("the digest does not fit: %v", err)
	}
	if ok, _ := r.Fits(receivers.Merge(msgs[:n+1])); ok {
		t.Fatalf("one more would have fit too")
	}
	if err := send(t, r, folded); err != nil {
		t.Fatal(err)
	}
	if c := f.Messages()[1].Content; count(c, "**【告警】") != 5*n || strings.Contains(c, "另有") {
		t.Fatalf("the digest of %d shows %d alerts", n, count(c, "**【告警】"))
	}

	if _, n, err = receivers.Fold(r, notifications(3, 200)); err != nil || n != 1 {
		t.Fatalf("200-alert notifications: folded %d, %v", n, err)
	}
}

// Fits and Send measure alike: whatever Fits says fits is sent whole, in both types.
func TestFitsMatchesSend(t *testing.T) {
	for _, msgType := range []string{"markdown", "text"} {
		f := wecomtest.New(t)
		r := newReceiver(t, Config{RobotConfig: typed(robot(f.URL()), msgType), MentionedUserIDs: []string{"oncall"}})
		last := 0
		for size := 1; size <= 40; size++ {
			m := notifications(1, size)[0]
			ok, err := r.Fits(m)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			last = size
			if err := send(t, r, m); err != nil {
				t.Fatal(err)
			}
			if c := f.Messages()[size-1].Content; strings.Contains(c, "另有") || strings.Contains(c, "…") {
				t.Fatalf("%s: %d alerts fit, yet the message was shortened", msgType, size)
			}
		}
		if last == 0 || last == 40 {
			t.Fatalf("%s: Fits took up to %d alerts", msgType, last)
		}
	}
}

func TestRenderErrorIsPermanent(t *testing.T) {
	f := wecomtest.New(t)
	c := Config{RobotConfig: receivers.RobotConfig{WebhookURL: receivers.Secret(f.URL()), Title: `{{ (index .Alerts 3).Labels.alertname }}`}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	r := New(&c, receivertest.Templates(t))
	m := receivertest.Message(1, "firing", "critical")
	if err := r.Send(context.Background(), m); !receivers.IsPermanent(err) {
		t.Fatalf("err = %v, want permanent", err)
	}
	if _, err := r.Fits(m); err == nil {
		t.Fatal("Fits ignored the render error")
	}
	if f.Requests() != 0 {
		t.Fatalf("the fake got %d requests", f.Requests())
	}
	bad := Config{RobotConfig: receivers.RobotConfig{WebhookURL: "https://h/x?key=k", Text: `{{ template "missing" . }}`}}
	bad.Validate()
	if err := bad.CheckTemplates(receivertest.Templates(t)); !receivertest.IsFieldError(err, "text") {
		t.Fatalf("a text calling an undefined template: %v", err)
	}
}

// Teams in China reach the internet through a proxy: both a plain and a CONNECT tunnel.
func TestProxy(t *testing.T) {
	for _, tls := range []bool{false, true} {
		f := wecomtest.New(t)
		var tlsConf promconfig.TLSConfig
		if tls {
			f = wecomtest.NewTLS(t)
			tlsConf.CAFile = receivertest.CAFile(t, f.Server())
		}
		p := receivertest.NewProxy(t)
		r := newReceiver(t, Config{RobotConfig: receivers.RobotConfig{WebhookURL: receivers.Secret(f.URL()),
			HTTPClientConfig: receivers.HTTPClientConfig{ProxyURL: receivers.Secret(p.URL()), TLSConfig: tlsConf}}})
		err := send(t, r, receivertest.Message(1, "firing", "critical"))
		if err != nil {
			t.Fatalf("tls %v: %v", tls, err)
		}
		only(t, f)
		if hosts := p.Hosts(); !slices.Contains(hosts, f.Host()) {
			t.Fatalf("tls %v: the proxy saw %v, not %s", tls, hosts, f.Host())
		}
	}
}

func TestPrivateCA(t *testing.T) {
	f := wecomtest.NewTLS(t)
	without := newReceiver(t, Config{RobotConfig: robot(f.URL())})
	err := send(t, without, receivertest.Message(1, "firing", "critical"))
	if err == nil || len(f.Messages()) != 0 {
		t.Fatalf("a server of an unknown CA was trusted: %v", err)
	}
	receivertest.NoSecrets(t, "error", err.Error(), f.URL(), wecomtest.Key)
	with := newReceiver(t, Config{RobotConfig: receivers.RobotConfig{WebhookURL: receivers.Secret(f.URL()),
		HTTPClientConfig: receivers.HTTPClientConfig{TLSConfig: promconfig.TLSConfig{CAFile: receivertest.CAFile(t, f.Server())}}}})
	if err := send(t, with, receivertest.Message(1, "firing", "critical")); err != nil {
		t.Fatal(err)
	}
	only(t, f)
}

// A destination whose error page quotes the request, a proxy with credentials, a robot
// that is down: no form of the key, the URL or the proxy's password gets into the error.
func TestSecretsNeverLeak(t *testing.T) {
	const key = "c0ffee00-1234-4bc4-97a0-5ec2e75ec2e7"
	echo := receivertest.Echo(t)
	hook := echo.URL + wecomtest.Path + "?key=" + key
	p := receivertest.NewProxy(t)
	proxy := strings.Replace(p.URL(), "http://", "http://alice:pr0xy-passw0rd@", 1)
	for _, c := range []Config{
		{RobotConfig: robot(hook)},
		{RobotConfig: typed(robot(hook), "text")},
		{RobotConfig: receivers.RobotConfig{WebhookURL: receivers.Secret(hook), HTTPClientConfig: receivers.HTTPClientConfig{ProxyURL: receivers.Secret(proxy)}}},
	} {
		err := send(t, newReceiver(t, c), receivertest.Message(1, "firing", "critical"))
		if err == nil || !strings.Contains(err.Error(), "404") {
			t.Fatalf("the echo server: %v", err)
		}
		receivertest.NoSecrets(t, "error", err.Error(), hook, key, proxy, "pr0xy-passw0rd")
	}
	down := wecomtest.New(t)
	down.Close()
	err := send(t, newReceiver(t, Config{RobotConfig: robot(down.URLWithKey(key))}), receivertest.Message(1, "firing", "critical"))
	if err == nil || receivers.IsPermanent(err) {
		t.Fatalf("unreachable robot: %v, want a retryable error", err)
	}
	receivertest.NoSecrets(t, "error", err.Error(), down.URLWithKey(key), key)
}

func TestSecretFileErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing_url")
	err := send(t, newReceiver(t, Config{RobotConfig: receivers.RobotConfig{WebhookURLFile: missing}}), receivertest.Message(1, "firing", "critical"))
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("missing file: %v, want an error naming %s", err, missing)
	}
	// A stray second line makes an invalid URL: the error must not quote it.
	secret := "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=deadbeef-0000-4bc4-97a0-0ec2f1fa5a1e"
	broken := filepath.Join(dir, "broken_url")
	os.WriteFile(broken, []byte(secret+"\n# rotated 2026-12-01\n"), 0o600)
	err = send(t, newReceiver(t, Config{RobotConfig: receivers.RobotConfig{WebhookURLFile: broken}}), receivertest.Message(1, "firing", "critical"))
	if err == nil || !receivers.IsPermanent(err) {
		t.Fatalf("broken file: %v, want permanent", err)
	}
	receivertest.NoSecrets(t, "error", err.Error(), secret, "deadbeef-0000-4bc4-97a0-0ec2f1fa5a1e", "rotated")
}

// The answer is outside input: whatever it is, Answer classifies it without panicking,
// and success is only an errcode of 0.
func FuzzAnswer(f *testing.F) {
	for _, s := range []string{`{"errcode":0,"errmsg":"ok"}`, `{"errcode":45009,"errmsg":"api freq out of limit"}`, `{"errcode":93000}`,
		`{}`, `{"errcode":"0"}`, `{"errcode":null}`, `<html>`, ``, `{"errcode":1e3}`, `{"errcode":-1,"errmsg":"\u00ff"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		err := Answer(body, time.Minute)
		var a struct {
			ErrCode *int `json:"errcode"`
		}
		ok := json.Unmarshal(body, &a) == nil && a.ErrCode != nil && *a.ErrCode == 0
		if (err == nil) != ok {
			t.Fatalf("Answer(%q) = %v", body, err)
		}
		if err != nil && len(err.Error()) > 600 {
			t.Fatalf("an error of %d bytes", len(err.Error()))
		}
	})
}

// typed is a robot config of the message type.
func typed(rc receivers.RobotConfig, messageType string) receivers.RobotConfig {
	rc.MessageType = messageType
	return rc
}

// body is an answer of HTTP 200 with this body, which need not be JSON.
func body(b string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { io.WriteString(w, b) }
}
