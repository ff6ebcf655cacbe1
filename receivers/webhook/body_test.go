package webhook_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/receivers/receivertest"
	"github.com/alertrouter/alertrouter/receivers/webhook"
	"github.com/alertrouter/alertrouter/receivers/webhook/webhooktest"
)

// A body template arrives exactly as rendered, with its content type and the templated
// headers beside ours; values carrying quotes and newlines stay JSON through toJson.
func TestTemplatedBody(t *testing.T) {
	tests := []struct {
		name string
		conf webhook.Config
		want string // the body as received
		// wantType is the Content-Type received.
		wantType string
	}{
		{
			name: "Telegram JSON",
			conf: webhook.Config{
				Body:    `{"chat_id": "-1001234567890", "text": {{ printf "%s: %s" .CommonLabels.alertname .CommonAnnotations.summary | toJson }}}`,
				Headers: map[string]receivers.Secret{"X-Hostgroup": "{{ .GroupLabels.hostgroup }}", "x-static": "on"},
			},
			want:     `{"chat_id": "-1001234567890", "text": "GPUTemperatureHigh: GPU \"0\" is at 87°C\n\u003cb\u003enow\u003c/b\u003e"}`, // toJson escapes <, > and & as JSON allows
			wantType: "application/json",
		},
		{
			name: "form",
			conf: webhook.Config{
				Body:        `chat_id=-1001234567890&text={{ .CommonAnnotations.summary | urlquery }}`,
				ContentType: "application/x-www-form-urlencoded",
				Headers:     map[string]receivers.Secret{"X-Hostgroup": "{{ .GroupLabels.hostgroup }}", "x-static": "on"},
			},
			want:     `chat_id=-1001234567890&text=GPU+%220%22+is+at+87%C2%B0C%0A%3Cb%3Enow%3C%2Fb%3E`,
			wantType: "application/x-www-form-urlencoded",
		},
		{
			name: "max_alerts caps what the template sees",
			conf: webhook.Config{
				Body:        `{{ len .Alerts }} of {{ .CommonLabels.alertname }}`,
				ContentType: "text/plain; charset=utf-8",
				MaxAlerts:   2,
				Headers:     map[string]receivers.Secret{"X-Hostgroup": "{{ .GroupLabels.hostgroup }}", "x-static": "on"},
			},
			want:     "2 of GPUTemperatureHigh",
			wantType: "text/plain; charset=utf-8",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := webhooktest.New(t)
			conf := tt.conf
			conf.URL = receivers.Secret(fake.URL() + "/hook")
			conf.BearerToken = "t0ken"
			tmpl := receivertest.Prepare(t, &conf)
			m := receivertest.Message(5, "firing", "warning")
			m.Data.CommonAnnotations["summary"] = "GPU \"0\" is at 87°C\n<b>now</b>"
			if err := webhook.New(&conf, tmpl).Send(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			reqs := fake.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			got := reqs[0]
			if string(got.Body) != tt.want {
				t.Errorf("body\n got: %s\nwant: %s", got.Body, tt.want)
			}
			h := got.Header
			if h.Get("Content-Type") != tt.wantType || h.Get("X-Hostgroup") != "gpu-render-a" || h.Get("X-Static") != "on" ||
				h.Get("Authorization") != "Bearer t0ken" || h.Get(webhook.NotificationIDHeader) != "7" {
				t.Errorf("headers = %v", h)
			}
		})
	}
}

// The rendered values really are what the destination decodes: the JSON text and the
// form field come back as the annotation, quotes, newline and markup included.
func TestTemplatedBodyDecodes(t *testing.T) {
	const summary = "GPU \"0\" is at 87°C\n<b>now</b> & 'then'"
	for _, tt := range []struct {
		body, contentType string
		decode            func([]byte) (string, error)
	}{
		{`{"text": {{ .CommonAnnotations.summary | toJson }}}`, "application/json", func(b []byte) (string, error) {
			var v struct{ Text string }
			err := json.Unmarshal(b, &v)
			return v.Text, err
		}},
		{`text={{ .CommonAnnotations.summary | urlquery }}`, "application/x-www-form-urlencoded", func(b []byte) (string, error) {
			v, err := url.ParseQuery(string(b))
			return v.Get("text"), err
		}},
	} {
		fake := webhooktest.New(t)
		conf := &webhook.Config{URL: receivers.Secret(fake.URL()), Body: tt.body, ContentType: tt.contentType}
		m := receivertest.Message(1, "firing", "warning")
		m.Data.CommonAnnotations["summary"] = summary
		if err := webhook.New(conf, receivertest.Prepare(t, conf)).Send(context.Background(), m); err != nil {
			t.Fatalf("%s: %v", tt.contentType, err)
		}
		reqs := fake.Requests()
		if len(reqs) != 1 {
			t.Fatalf("%s: %d requests", tt.contentType, len(reqs))
		}
		if got, err := tt.decode(reqs[0].Body); err != nil || got != summary {
			t.Errorf("%s: decoded %q, %v; want %q", tt.contentType, got, err, summary)
		}
	}
}

// A label that renders a CR or LF into a header would inject headers: the send fails for
// good, and nothing is posted. So does a body that renders only on real data.
func TestRenderFailuresArePermanent(t *testing.T) {
	tests := []struct {
		name  string
		conf  webhook.Config
		label string // the alertname of the message
		want  string
	}{
		{"header with a newline", webhook.Config{Headers: map[string]receivers.Secret{"X-Alert": "{{ .CommonLabels.alertname }}"}},
			"A\r\nX-Evil: 1", "headers.X-Alert: the rendered value has a control character"},
		{"header with a bare LF", webhook.Config{Headers: map[string]receivers.Secret{"X-Alert": "{{ .CommonLabels.alertname }}"}},
			"A\nB", "headers.X-Alert: the rendered value has a control character"},
		{"body failing on real data", webhook.Config{Body: `{{ if .CommonLabels.hostgroup }}{{ template "no.such" . }}{{ end }}`},
			"A", "render body: "},
		{"header failing on real data", webhook.Config{Headers: map[string]receivers.Secret{"X-A": `{{ if .CommonLabels.hostgroup }}{{ template "no.such" . }}{{ end }}`}},
			"A", "render headers.X-A: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := webhooktest.New(t)
			conf := tt.conf
			conf.URL = receivers.Secret(fake.URL())
			tmpl := receivertest.Prepare(t, &conf)
			m := receivertest.Message(1, "firing", "warning")
			m.Data.CommonLabels["alertname"] = tt.label
			err := webhook.New(&conf, tmpl).Send(context.Background(), m)
			if err == nil || !receivers.IsPermanent(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a permanent error with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "X-Evil") {
				t.Errorf("the error quotes the value: %v", err)
			}
			if n := len(fake.Requests()); n != 0 {
				t.Fatalf("%d requests posted", n)
			}
		})
	}
}

func TestCheckTemplates(t *testing.T) {
	tests := []struct {
		name  string
		conf  webhook.Config
		field string
	}{
		{"default body", webhook.Config{}, ""},
		{"good body and headers", webhook.Config{Body: `{"text": {{ .CommonLabels.severity | toJson }}}`, Headers: map[string]receivers.Secret{"X-A": "{{ .Status }}"}}, ""},
		{"body that does not parse", webhook.Config{Body: `{"text": {{ .Status }`}, "body"},
		{"body calling a missing template", webhook.Config{Body: `{{ template "no.such" . }}`}, "body"},
		{"body with an unknown field", webhook.Config{Body: `{{ .Nope }}`}, "body"},
		{"header that does not parse", webhook.Config{Headers: map[string]receivers.Secret{"X-A": "ok", "X-Foo": "{{ .Status"}}, "headers.X-Foo"},
		{"header with an unknown function", webhook.Config{Body: "ok", Headers: map[string]receivers.Secret{"X-Foo": "{{ .Status | nope }}"}}, "headers.X-Foo"},
	}
	tmpl := receivertest.Templates(t)
	for _, tt := range tests {
		tt.conf.URL = "http://x"
		if err := tt.conf.Validate(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if err := tt.conf.CheckTemplates(tmpl); !receivertest.IsFieldError(err, tt.field) {
			t.Errorf("%s: %v, want a problem with %q", tt.name, err, tt.field)
		}
	}
}

// Headers carry credentials (Authorization: Basic, X-Api-Key): a destination that echoes
// the request does not get them into the error.
func TestEchoedHeadersLeakNoSecret(t *testing.T) {
	echo := receivertest.Echo(t)
	conf := &webhook.Config{URL: receivers.Secret(echo.URL + "/hook"), Headers: map[string]receivers.Secret{"Authorization": "Basic dXNlcjpwNHNzdzByZA=="}}
	err := webhook.New(conf, receivertest.Prepare(t, conf)).Send(context.Background(), receivertest.Message(1, "firing", "warning"))
	if err == nil || !receivers.IsPermanent(err) || !strings.Contains(err.Error(), "Cannot POST") {
		t.Fatalf("echoed 404: %v, want a permanent error quoting the page", err)
	}
	receivertest.NoSecrets(t, "error", err.Error(), "dXNlcjpwNHNzdzByZA==")
}

// The fields decode from a config file, are checked there, and the receiver the config
// builds (through the registry, with the config's templates) posts the rendered body.
func TestConfigLoads(t *testing.T) {
	fake := webhooktest.New(t)
	c, err := config.Load([]byte(`receivers:
  - name: tg
    webhook:
      url: '`+fake.URL()+`/bot/sendMessage'
      content_type: application/x-www-form-urlencoded
      body: 'chat_id=-100123&text={{ .CommonLabels.alertname | urlquery }}'
      headers:
        X-Team: '{{ .GroupLabels.hostgroup }}'
default_receivers: [tg]
`), "cfg.yml")
	if err != nil {
		t.Fatal(err)
	}
	r, ok := c.Receiver("tg")
	if !ok {
		t.Fatal("no receiver tg")
	}
	conf := r.Config.(*webhook.Config)
	if conf.ContentType != "application/x-www-form-urlencoded" || conf.Headers["X-Team"] != "{{ .GroupLabels.hostgroup }}" || !strings.HasPrefix(conf.Body, "chat_id=") {
		t.Fatalf("decoded %+v", conf)
	}
	if err := r.Build(c, nil).Send(context.Background(), receivertest.Message(1, "firing", "warning")); err != nil {
		t.Fatal(err)
	}
	reqs := fake.Requests()
	if len(reqs) != 1 || string(reqs[0].Body) != "chat_id=-100123&text=GPUTemperatureHigh" || reqs[0].Header.Get("X-Team") != "gpu-render-a" ||
		reqs[0].Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Fatalf("recorded %+v", reqs)
	}
}

// Without content_type, a body is sent as JSON, the type of the default payload.
func TestContentTypeDefault(t *testing.T) {
	conf := &webhook.Config{URL: "http://x", Body: "{}"}
	if err := conf.Validate(); err != nil || conf.ContentType != "application/json" {
		t.Fatalf("content_type = %q, %v", conf.ContentType, err)
	}
}
