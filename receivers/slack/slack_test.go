package slack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/receivers/receivertest"
	"github.com/alertrouter/alertrouter/receivers/slack/slacktest"
)

func newReceiver(t *testing.T, c Config) *Receiver {
	t.Helper()
	return New(&c, receivertest.Prepare(t, &c))
}

func TestWebhookMessage(t *testing.T) {
	f := slacktest.New(t)
	r := newReceiver(t, Config{WebhookURL: receivers.Secret(f.URL() + "/services/T0/B0/s3cr3t")})
	m := receivertest.Message(2, "firing", "critical")
	m.Data.Alerts[0].Annotations["summary"] = "<!channel> & <https://evil|click>"
	if err := r.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	msgs := f.Messages()
	if len(msgs) != 1 || msgs[0].Webhook == nil || len(msgs[0].Webhook.Attachments) != 1 {
		t.Fatalf("messages = %+v", msgs)
	}
	a := msgs[0].Webhook.Attachments[0]
	if a.Color != "danger" || a.Title != "[FIRING:2] GPUTemperatureHigh (gpu-render-a)" {
		t.Fatalf("attachment = %+v", a)
	}
	want := "• *GPUTemperatureHigh* on `gpu-node-01:9400`: &lt;!channel&gt; &amp; &lt;https://evil|click&gt; _since 2026-11-21 16:00:00 CST_\n" +
		"• *GPUTemperatureHigh* on `gpu-node-02:9400`: GPU 0 on gpu-node-02 is at 87°C _since 2026-11-21 16:00:00 CST_\n"
	if a.Text != want {
		t.Fatalf("text\n got %q\nwant %q", a.Text, want)
	}
}

func TestBotTokenMessage(t *testing.T) {
	f := slacktest.New(t)
	r := newReceiver(t, Config{BotToken: "xoxb-s3cr3t", Channel: "#ops", APIURL: f.URL() + "/api"})
	if err := r.Send(context.Background(), receivertest.Message(1, "resolved", "warning")); err != nil {
		t.Fatal(err)
	}
	msgs := f.Messages()
	if len(msgs) != 1 || msgs[0].Path != "/api/chat.postMessage" || msgs[0].Form.Get("channel") != "#ops" {
		t.Fatalf("messages = %+v", msgs)
	}
	post := msgs[0]
	if post.Authorization != "Bearer xoxb-s3cr3t" && post.Form.Get("token") != "xoxb-s3cr3t" {
		t.Fatalf("the token was not sent: header %q form %v", post.Authorization, post.Form)
	}
	var atts []slack.Attachment
	if err := json.Unmarshal([]byte(post.Form.Get("attachments")), &atts); err != nil || len(atts) != 1 {
		t.Fatalf("attachments = %q: %v", post.Form.Get("attachments"), err)
	}
	if atts[0].Color != "good" || !strings.HasPrefix(atts[0].Title, "[RESOLVED]") || !strings.Contains(atts[0].Text, "~GPUTemperatureHigh~") {
		t.Fatalf("resolved attachment = %+v", atts[0])
	}
}

func TestColors(t *testing.T) {
	for sev, want := range map[string]string{"critical": "danger", "warning": "warning", "info": "#439FE0", "": "#439FE0"} {
		if got := Color(receivertest.Message(1, "firing", sev).Data); got != want {
			t.Errorf("firing %q: %s, want %s", sev, got, want)
		}
	}
	if got := Color(receivertest.Message(1, "resolved", "critical").Data); got != "good" {
		t.Errorf("resolved: %s", got)
	}
}

func TestErrorClassification(t *testing.T) {
	f := slacktest.New(t)
	hook := newReceiver(t, Config{WebhookURL: receivers.Secret(f.URL() + "/services/T0/B0/s3cr3t")})
	bot := newReceiver(t, Config{BotToken: "xoxb-s3cr3t", Channel: "#ops", APIURL: f.URL() + "/api/"})
	nowhere := newReceiver(t, Config{BotToken: "xoxb-s3cr3t", Channel: slacktest.NoChannel, APIURL: f.URL() + "/api/"})
	answer := func(code int, header, body string) func(w http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			if header != "" {
				w.Header().Set("Retry-After", header)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			io.WriteString(w, body)
		}
	}
	tests := []struct {
		name       string
		r          *Receiver
		answer     func(w http.ResponseWriter)
		throttle   int // requests the fake throttles, asking for retryAfter
		permanent  bool
		throttled  bool
		retryAfter time.Duration
	}{
		{"webhook 429 with Retry-After", hook, nil, 1, false, true, 30 * time.Second},
		{"webhook 429 without Retry-After", hook, answer(429, "", ""), 0, false, true, 0},
		{"webhook 500", hook, answer(500, "", "oops"), 0, false, false, 0},
		{"webhook 404 no_service", hook, answer(404, "", "no_service"), 0, true, false, 0},
		{"webhook 400 invalid_payload", hook, answer(400, "", "invalid_payload"), 0, true, false, 0},
		{"api invalid_auth", bot, answer(200, "", `{"ok":false,"error":"invalid_auth"}`), 0, true, false, 0},
		{"api ratelimited", bot, answer(200, "", `{"ok":false,"error":"ratelimited"}`), 0, false, true, 0},
		{"api internal_error", bot, answer(200, "", `{"ok":false,"error":"internal_error"}`), 0, false, false, 0},
		{"api channel_not_found", nowhere, nil, 0, true, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.SetAnswer(tt.answer)
			f.Throttle(tt.throttle, int(tt.retryAfter/time.Second))
			err := tt.r.Send(context.Background(), receivertest.Message(1, "firing", "critical"))
			if err == nil {
				t.Fatal("no error")
			}
			var th *receivers.ThrottledError
			if receivers.IsPermanent(err) != tt.permanent || errors.As(err, &th) != tt.throttled || (th != nil && th.RetryAfter != tt.retryAfter) {
				t.Fatalf("err %v: permanent %v, throttled %+v", err, receivers.IsPermanent(err), th)
			}
			receivertest.NoSecrets(t, "error", err.Error(), "xoxb-s3cr3t", f.URL()+"/services/T0/B0/s3cr3t")
		})
	}
}

func TestUnreachableSlackLeaksNoSecret(t *testing.T) {
	f := slacktest.New(t)
	f.Close()
	secret := f.URL() + "/services/T0/B0/s3cr3t"
	for _, c := range []Config{{WebhookURL: receivers.Secret(secret)}, {BotToken: "xoxb-s3cr3t", Channel: "#ops", APIURL: f.URL() + "/api/"}} {
		err := newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "firing", "critical"))
		if err == nil || receivers.IsPermanent(err) {
			t.Fatalf("unreachable Slack: %v, want a retryable error", err)
		}
		receivertest.NoSecrets(t, "error", err.Error(), "xoxb-s3cr3t", secret)
	}
}

func TestLongMessagesAreTruncated(t *testing.T) {
	f := slacktest.New(t)
	r := newReceiver(t, Config{WebhookURL: receivers.Secret(f.URL() + "/services/T0/B0/x")})
	if err := r.Send(context.Background(), receivertest.Message(500, "firing", "warning")); err != nil {
		t.Fatal(err)
	}
	msgs := f.Messages()
	if len(msgs) != 1 || msgs[0].Webhook == nil || len(msgs[0].Webhook.Attachments) != 1 {
		t.Fatalf("messages = %+v", msgs)
	}
	text := msgs[0].Webhook.Attachments[0].Text
	if len(text) > maxText || !strings.Contains(text, " more alerts") {
		t.Fatalf("text of %d bytes ends %q", len(text), text[max(0, len(text)-60):])
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		c     Config
		field string
	}{
		{Config{WebhookURL: "https://hooks.slack.com/services/x"}, ""},
		{Config{BotTokenFile: "/f", Channel: "#c"}, ""},
		{Config{}, "webhook_url"},
		{Config{WebhookURL: "https://h/x", BotToken: "t", Channel: "#c"}, "webhook_url"},
		{Config{BotToken: "t"}, "channel"},
		{Config{WebhookURL: "hooks.slack.com/x"}, "webhook_url"},
		{Config{BotToken: "t", Channel: "#c", APIURL: "::"}, "api_url"},
		{Config{WebhookURL: "https://h/x", RateLimit: -1}, "rate_limit"},
		{Config{WebhookURL: "https://h/x", RateLimit: math.NaN()}, "rate_limit"},
		{Config{BotToken: "t", AppTokenFile: "/f", Channel: "#c"}, ""},
		{Config{BotToken: "t", AppToken: "a", AppTokenFile: "/f", Channel: "#c"}, "app_token"},
		{Config{WebhookURL: "https://h/x", AppToken: "a"}, "app_token"},
	}
	for _, tt := range tests {
		if err := tt.c.Validate(); !receivertest.IsFieldError(err, tt.field) {
			t.Errorf("%+v: %v, want problem with %q", tt.c, err, tt.field)
		}
	}
	c := Config{WebhookURL: "https://h/x", Title: `{{ template "missing" . }}`}
	c.Validate()
	if err := c.CheckTemplates(receivertest.Templates(t)); err == nil {
		t.Error("a title calling an undefined template was accepted")
	}
}

// A webhook file with a stray second line makes an invalid URL: the error must not quote it.
func TestBrokenWebhookFileLeaksNothing(t *testing.T) {
	secret := "https://hooks.slack.com/services/T0/B0/s3cr3tT0ken"
	file := filepath.Join(t.TempDir(), "hook")
	os.WriteFile(file, []byte(secret+"\n# rotated 2026-01-01\n"), 0o600)
	err := newReceiver(t, Config{WebhookURLFile: file}).Send(context.Background(), receivertest.Message(1, "firing", "critical"))
	if err == nil || !receivers.IsPermanent(err) {
		t.Fatalf("err = %v, want permanent", err)
	}
	receivertest.NoSecrets(t, "error", err.Error(), secret)
}

func TestHugeRetryAfterIsCapped(t *testing.T) {
	f := slacktest.New(t)
	f.Throttle(1, 864000)
	err := newReceiver(t, Config{WebhookURL: receivers.Secret(f.URL() + "/services/x")}).Send(context.Background(), receivertest.Message(1, "firing", "critical"))
	var th *receivers.ThrottledError
	if !errors.As(err, &th) || th.RetryAfter != receivers.MaxRetryAfter {
		t.Fatalf("err = %v, want throttled for %s", err, receivers.MaxRetryAfter)
	}
}

// Slack's 429 is throttling with the wait it asks for, and the message is not lost: it
// goes out on the next try.
func TestRateLimitIsThrottled(t *testing.T) {
	f := slacktest.New(t)
	f.Throttle(1, 7)
	r := newReceiver(t, Config{BotToken: "xoxb-s3cr3t", Channel: "#ops", APIURL: f.URL() + "/api/"})
	err := r.Send(context.Background(), receivertest.Message(1, "firing", "critical"))
	var th *receivers.ThrottledError
	if !errors.As(err, &th) || th.RetryAfter != 7*time.Second || receivers.IsPermanent(err) {
		t.Fatalf("err = %v, want throttled for 7s", err)
	}
	if f.Throttled() != 1 || len(f.Messages()) != 0 {
		t.Fatalf("throttled %d, messages %+v: want 1 throttled and none recorded", f.Throttled(), f.Messages())
	}
	if err := r.Send(context.Background(), receivertest.Message(1, "firing", "critical")); err != nil {
		t.Fatalf("after the rate limit: %v", err)
	}
	if f.Throttled() != 1 || len(f.Messages()) != 1 {
		t.Fatalf("throttled %d, %d messages: want 1 and 1", f.Throttled(), len(f.Messages()))
	}
}

// A destination whose error page quotes the request: neither the webhook URL's token nor
// the bot token survives into the error.
func TestEchoedRequestsLeakNoSecret(t *testing.T) {
	echo := receivertest.Echo(t)
	hook := echo.URL + "/services/T0/B0/sl4ckT0kensl4ckT0ken"
	for _, c := range []Config{{WebhookURL: receivers.Secret(hook)}, {BotToken: "xoxb-b0tT0ken", Channel: "#ops", APIURL: echo.URL + "/api/"}} {
		err := newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "firing", "critical"))
		if err == nil {
			t.Fatal("the echo server accepted the message")
		}
		receivertest.NoSecrets(t, "error", err.Error(), "xoxb-b0tT0ken", hook, "sl4ckT0ken")
	}
}
