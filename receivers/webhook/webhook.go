// Package webhook is the receiver that posts the Alertmanager webhook payload (version 4)
// to a URL, so that anything written for Alertmanager's webhook_config works behind
// alertrouter unchanged; or, with a body template, any other body (Microsoft Teams,
// Telegram, Bark, a ticket system), with our retries.
package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/alertrouter/alertrouter/config/duration"
	"github.com/alertrouter/alertrouter/receivers"
)

// Defaults.
const (
	// DefaultTimeout bounds one delivery attempt.
	DefaultTimeout     = 10 * time.Second
	DefaultContentType = "application/json"
)

// NotificationIDHeader carries the notification's outbox id, stable across retries.
const NotificationIDHeader = "X-Alertrouter-Notification-Id"

// Config configures a webhook receiver.
type Config struct {
	// URL may embed a token, so it is a secret; URLFile is read at every send.
	URL             receivers.Secret `yaml:"url"`
	URLFile         string           `yaml:"url_file"`
	BearerToken     receivers.Secret `yaml:"bearer_token"`
	BearerTokenFile string           `yaml:"bearer_token_file"`
	// MaxAlerts caps the alerts in one payload; the rest are counted in truncatedAlerts. 0 means no cap.
	MaxAlerts int               `yaml:"max_alerts"`
	Timeout   duration.Duration `yaml:"timeout"`
	// Body is a text/template (Alertmanager's funcs and the user's templates) rendered
	// into the request body; empty posts Alertmanager's payload. Values are not escaped:
	// in a JSON body write {{ .CommonAnnotations.summary | toJson }}, which makes a quoted
	// JSON string of any value (text/template's js is not JSON); in a form body, urlquery.
	// The template sees at most max_alerts alerts.
	Body string `yaml:"body"`
	// ContentType is sent as Content-Type, as is (not a template).
	ContentType string `yaml:"content_type"`
	// Headers are extra request headers; their values are templates, like Body. They carry
	// API keys (X-Api-Key, Authorization: Basic), so the config shows them as <secret>.
	Headers map[string]receivers.Secret `yaml:"headers"`

	receivers.HTTPClientConfig `yaml:",inline"`
}

var (
	_ receivers.Config          = (*Config)(nil)
	_ receivers.SecretFiler     = (*Config)(nil)
	_ receivers.TemplateChecker = (*Config)(nil)
)

// Validate checks the config and fills in defaults; errors never quote the URL.
func (c *Config) Validate() error {
	switch {
	case c.URL == "" && c.URLFile == "":
		return &receivers.FieldError{Field: "url", Msg: "one of url or url_file is required"}
	case c.URL != "" && c.URLFile != "":
		return &receivers.FieldError{Field: "url", Msg: "url and url_file are mutually exclusive"}
	case c.BearerToken != "" && c.BearerTokenFile != "":
		return &receivers.FieldError{Field: "bearer_token", Msg: "bearer_token and bearer_token_file are mutually exclusive"}
	case c.MaxAlerts < 0:
		return &receivers.FieldError{Field: "max_alerts", Msg: "must not be negative"}
	case c.Timeout < 0:
		return &receivers.FieldError{Field: "timeout", Msg: "must not be negative"}
	}
	if c.URL != "" {
		if err := receivers.CheckURL(string(c.URL)); err != nil {
			return &receivers.FieldError{Field: "url", Msg: err.Error()}
		}
	}
	if c.ContentType == "" {
		c.ContentType = DefaultContentType
	}
	if _, _, err := mime.ParseMediaType(c.ContentType); err != nil {
		return &receivers.FieldError{Field: "content_type", Msg: "not a media type, such as application/json or application/x-www-form-urlencoded"}
	}
	if err := c.validateHeaders(); err != nil {
		return err
	}
	return c.HTTPClientConfig.Validate()
}

// reservedHeaders are the headers that headers may not set, and why.
var reservedHeaders = map[string]string{
	"Content-Type":       "set content_type instead",
	"User-Agent":         "is set by alertrouter",
	NotificationIDHeader: "is set by alertrouter: destinations drop duplicate deliveries by it",
	// Go's client drops these from a request's headers: configured, they would do nothing.
	"Host":              "is set from the URL",
	"Content-Length":    "is set by the HTTP client",
	"Transfer-Encoding": "is set by the HTTP client",
	"Trailer":           "is set by the HTTP client",
}

func (c *Config) validateHeaders() error {
	seen := map[string]string{}
	for _, name := range c.headerNames() {
		field := "headers." + name
		canonical := http.CanonicalHeaderKey(name)
		switch {
		case !validHeaderName(name):
			return &receivers.FieldError{Field: field, Msg: "not a valid HTTP header name"}
		case reservedHeaders[canonical] != "":
			return &receivers.FieldError{Field: field, Msg: reservedHeaders[canonical]}
		case canonical == "Authorization" && (c.BearerToken != "" || c.BearerTokenFile != ""):
			return &receivers.FieldError{Field: field, Msg: "conflicts with bearer_token, which sets Authorization"}
		case seen[canonical] != "":
			return &receivers.FieldError{Field: field, Msg: "the same header as " + seen[canonical] + " (header names ignore case)"}
		}
		seen[canonical] = name
	}
	return nil
}

// headerNames are the configured header names as written, sorted: checks and errors
// come in the same order every time.
func (c *Config) headerNames() []string { return slices.Sorted(maps.Keys(c.Headers)) }

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, b := range []byte(s) {
		ok := b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether s can be sent as a header value: no control
// characters but tab. A CR or LF from a label would inject headers.
func validHeaderValue(s string) bool {
	for _, b := range []byte(s) {
		if b < ' ' && b != '\t' || b == 0x7f {
			return false
		}
	}
	return true
}

// CheckTemplates renders the body and each header value, so that a broken template
// rejects the config.
func (c *Config) CheckTemplates(t *receivers.Templates) error {
	fields := []receivers.TemplateField{{Name: "body", Text: c.Body}}
	for _, name := range c.headerNames() {
		fields = append(fields, receivers.TemplateField{Name: "headers." + name, Text: string(c.Headers[name])})
	}
	return t.CheckFields(fields...)
}

// SecretFiles lists the configured secret files by field, for `config check` to try.
func (c *Config) SecretFiles() map[string]string {
	return map[string]string{"url_file": c.URLFile, "bearer_token_file": c.BearerTokenFile}
}

// Payload is Alertmanager's webhook payload, version 4.
type Payload struct {
	*template.Data
	Version         string `json:"version"`
	GroupKey        string `json:"groupKey"`
	TruncatedAlerts uint64 `json:"truncatedAlerts"`
}

// Receiver posts payloads to one URL.
type Receiver struct {
	conf        *Config
	tmpl        *receivers.Templates
	headerNames []string
	client      receivers.HTTPClient
}

var _ receivers.Receiver = (*Receiver)(nil)

// New returns a receiver for a validated conf; tmpl renders its body and headers.
func New(conf *Config, tmpl *receivers.Templates) *Receiver {
	return &Receiver{
		conf:        conf,
		tmpl:        tmpl,
		headerNames: conf.headerNames(),
		client:      receivers.NewHTTPClientFor(&conf.HTTPClientConfig, conf.Timeout.Or(DefaultTimeout)),
	}
}

// minSecretHeader is the shortest rendered header value that errors hide: headers carry
// API keys (X-Api-Key, Authorization: Basic), while hiding "1" or "high" would mangle
// messages and hide nothing.
const minSecretHeader = 8

// Send posts the message: Alertmanager's payload, or the rendered body.
func (r *Receiver) Send(ctx context.Context, m *receivers.Message) (err error) {
	rawURL, err := receivers.ReadSecret(r.conf.URL, r.conf.URLFile)
	if err != nil {
		return err
	}
	secrets := append(r.conf.Secrets(), rawURL)
	// The destination's answer may echo the URL, the token or a header back: the error must not.
	defer func() { err = receivers.Scrub(err, secrets...) }()
	client, err := r.client.Get()
	if err != nil {
		return err
	}
	if err := receivers.CheckURL(rawURL); err != nil {
		return receivers.Permanent(fmt.Errorf("url_file: %w", err))
	}
	token, err := receivers.ReadSecret(r.conf.BearerToken, r.conf.BearerTokenFile)
	if err != nil {
		return err
	}
	secrets = append(secrets, token)
	data, truncated := r.capped(m)
	body, err := r.body(m, &data, truncated)
	if err != nil {
		return receivers.Permanent(err)
	}
	header := http.Header{
		// Lets the destination drop the duplicates that at-least-once delivery allows.
		NotificationIDHeader: {strconv.FormatInt(m.ID, 10)},
	}
	for _, name := range r.headerNames {
		v, err := r.tmpl.Text(string(r.conf.Headers[name]), &data)
		if err != nil {
			return receivers.Permanent(fmt.Errorf("render headers.%s: %w", name, err))
		}
		if !validHeaderValue(v) {
			// The value is not quoted: it may be a credential.
			return receivers.Permanent(fmt.Errorf("headers.%s: the rendered value has a control character (a CR or LF would inject headers)", name))
		}
		if len(v) >= minSecretHeader {
			secrets = append(secrets, v)
		}
		header.Set(name, v)
	}
	if token != "" {
		header.Set("Authorization", "Bearer "+token)
	}
	return receivers.PostChecked(ctx, client, rawURL, r.conf.contentType(), body, header)
}

// capped is m's data with at most max_alerts alerts, and how many it left out.
func (r *Receiver) capped(m *receivers.Message) (template.Data, uint64) {
	data := *m.Data
	var truncated uint64
	if r.conf.MaxAlerts > 0 && len(data.Alerts) > r.conf.MaxAlerts {
		truncated = uint64(len(data.Alerts) - r.conf.MaxAlerts)
		data.Alerts = data.Alerts[:r.conf.MaxAlerts]
	}
	return data, truncated
}

// Preview is the body Send would post (headers, which may hold credentials, are not shown).
func (r *Receiver) Preview(m *receivers.Message) (string, error) {
	data, truncated := r.capped(m)
	body, err := r.body(m, &data, truncated)
	return string(body), err
}

var _ receivers.Previewer = (*Receiver)(nil)

// contentType is content_type, or its default for a config that skipped Validate.
func (c *Config) contentType() string {
	if c.ContentType == "" {
		return DefaultContentType
	}
	return c.ContentType
}

// body is the rendered body template, or Alertmanager's payload of data.
func (r *Receiver) body(m *receivers.Message, data *template.Data, truncated uint64) ([]byte, error) {
	if r.conf.Body != "" {
		s, err := r.tmpl.Text(r.conf.Body, data)
		if err != nil {
			return nil, fmt.Errorf("render body: %w", err)
		}
		return []byte(s), nil
	}
	body, err := json.Marshal(&Payload{
		Data:            data,
		Version:         "4",
		GroupKey:        GroupKey(m),
		TruncatedAlerts: truncated,
	})
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return body, nil
}

// GroupKey identifies the group of alerts a message carries, in the spirit of Alertmanager's.
func GroupKey(m *receivers.Message) string {
	return "alertrouter/" + m.Route + ":" + receivers.LabelSet(m.Data.GroupLabels).String()
}
