// Package slack posts notifications to Slack, through an incoming webhook or the Web API
// (chat.postMessage with a bot token), as one colored attachment per notification.
package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/alertrouter/alertrouter/config/duration"
	"github.com/alertrouter/alertrouter/receivers"
)

// Defaults.
const (
	DefaultAPIURL    = "https://slack.com/api/"
	DefaultTitle     = `{{ template "slack.alertrouter.title" . }}`
	DefaultText      = `{{ template "slack.alertrouter.text" . }}`
	DefaultRateLimit = 1 // messages per second: Slack's limit for posting to one channel
	DefaultBurst     = 3
	DefaultTimeout   = 10 * time.Second
	// maxText keeps an attachment under Slack's limits; longer texts are truncated with
	// a line saying how many alerts were left out.
	maxText = 7000
)

// Config configures a Slack receiver: an incoming webhook, or a bot token and a channel.
type Config struct {
	WebhookURL     receivers.Secret `yaml:"webhook_url"`
	WebhookURLFile string           `yaml:"webhook_url_file"`
	BotToken       receivers.Secret `yaml:"bot_token"`
	BotTokenFile   string           `yaml:"bot_token_file"`
	// AppToken (xapp-...) turns on buttons: alertrouter takes their presses over Socket
	// Mode, an outbound WebSocket, so that Slack needs no way in.
	AppToken     receivers.Secret  `yaml:"app_token"`
	AppTokenFile string            `yaml:"app_token_file"`
	Channel      string            `yaml:"channel"`
	APIURL       string            `yaml:"api_url"`
	Title        string            `yaml:"title"`
	Text         string            `yaml:"text"`
	RateLimit    float64           `yaml:"rate_limit"`
	Burst        int               `yaml:"burst"`
	Timeout      duration.Duration `yaml:"timeout"`

	receivers.HTTPClientConfig `yaml:",inline"`
}

func (c *Config) webhook() bool { return c.WebhookURL != "" || c.WebhookURLFile != "" }
func (c *Config) bot() bool     { return c.BotToken != "" || c.BotTokenFile != "" }

// HasButtons reports whether messages carry buttons (an app token is set).
func (c *Config) HasButtons() bool { return c.AppToken != "" || c.AppTokenFile != "" }

// Tokens are the bot's and the app's tokens, read now.
func (c *Config) Tokens() (bot, app string, err error) {
	if bot, err = receivers.ReadSecret(c.BotToken, c.BotTokenFile); err != nil {
		return "", "", err
	}
	app, err = receivers.ReadSecret(c.AppToken, c.AppTokenFile)
	return bot, app, err
}

var (
	_ receivers.Config          = (*Config)(nil)
	_ receivers.SecretFiler     = (*Config)(nil)
	_ receivers.TemplateChecker = (*Config)(nil)
)

// Validate checks the config and fills in defaults; errors never quote a secret.
func (c *Config) Validate() error {
	switch {
	case c.webhook() == c.bot():
		return &receivers.FieldError{Field: "webhook_url", Msg: "set either webhook_url(_file) or bot_token(_file) with channel"}
	case c.WebhookURL != "" && c.WebhookURLFile != "":
		return &receivers.FieldError{Field: "webhook_url", Msg: "webhook_url and webhook_url_file are mutually exclusive"}
	case c.BotToken != "" && c.BotTokenFile != "":
		return &receivers.FieldError{Field: "bot_token", Msg: "bot_token and bot_token_file are mutually exclusive"}
	case c.bot() && c.Channel == "":
		return &receivers.FieldError{Field: "channel", Msg: "is required with bot_token"}
	case c.AppToken != "" && c.AppTokenFile != "":
		return &receivers.FieldError{Field: "app_token", Msg: "app_token and app_token_file are mutually exclusive"}
	case c.HasButtons() && !c.bot():
		return &receivers.FieldError{Field: "app_token", Msg: "buttons need bot_token and channel: a webhook's message cannot be updated"}
	case c.RateLimit < 0 || math.IsNaN(c.RateLimit) || math.IsInf(c.RateLimit, 0):
		return &receivers.FieldError{Field: "rate_limit", Msg: "must be a positive number of messages per second"}
	case c.Burst < 0:
		return &receivers.FieldError{Field: "burst", Msg: "must not be negative"}
	}
	if c.WebhookURL != "" {
		if err := receivers.CheckURL(string(c.WebhookURL)); err != nil {
			return &receivers.FieldError{Field: "webhook_url", Msg: err.Error()}
		}
	}
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	if err := receivers.CheckURL(c.APIURL); err != nil {
		return &receivers.FieldError{Field: "api_url", Msg: err.Error()}
	}
	if !strings.HasSuffix(c.APIURL, "/") {
		c.APIURL += "/" // slack-go joins method names to it
	}
	if c.Title == "" {
		c.Title = DefaultTitle
	}
	if c.Text == "" {
		c.Text = DefaultText
	}
	if c.RateLimit == 0 {
		c.RateLimit = DefaultRateLimit
	}
	if c.Burst == 0 {
		c.Burst = DefaultBurst
	}
	return c.HTTPClientConfig.Validate()
}

// CheckTemplates renders the title and text once, so that a broken template rejects the config.
func (c *Config) CheckTemplates(t *receivers.Templates) error {
	return t.CheckFields(receivers.TemplateField{Name: "title", Text: c.Title}, receivers.TemplateField{Name: "text", Text: c.Text})
}

// SecretFiles lists the configured secret files by field.
func (c *Config) SecretFiles() map[string]string {
	return map[string]string{"webhook_url_file": c.WebhookURLFile, "bot_token_file": c.BotTokenFile, "app_token_file": c.AppTokenFile}
}

// Receiver posts to Slack.
type Receiver struct {
	conf   *Config
	tmpl   *receivers.Templates
	client receivers.HTTPClient
}

var (
	_ receivers.Receiver    = (*Receiver)(nil)
	_ receivers.RateLimited = (*Receiver)(nil)
)

// New returns a receiver for a validated conf.
func New(conf *Config, tmpl *receivers.Templates) *Receiver {
	return &Receiver{conf: conf, tmpl: tmpl, client: receivers.NewHTTPClientFor(&conf.HTTPClientConfig, conf.Timeout.Or(DefaultTimeout))}
}

// RateLimit is how fast the dispatcher may send to this receiver.
func (r *Receiver) RateLimit() (float64, int) { return r.conf.RateLimit, r.conf.Burst }

// escape makes a value safe in Slack mrkdwn: "<!channel>" in a label must not ping anyone.
var escape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

// Send posts the notification as one attachment.
func (r *Receiver) Send(ctx context.Context, m *receivers.Message) (err error) {
	att, err := r.attachment(m)
	if err != nil {
		return receivers.Permanent(err)
	}
	secrets := r.conf.Secrets()
	defer func() { err = receivers.Scrub(err, secrets...) }()
	client, err := r.client.Get()
	if err != nil {
		return err
	}
	if r.conf.webhook() {
		hook, err := receivers.ReadSecret(r.conf.WebhookURL, r.conf.WebhookURLFile)
		if err != nil {
			return err
		}
		secrets = append(secrets, hook)
		// Check it here: slack-go's parse error would quote the URL, token and all.
		if err := receivers.CheckURL(hook); err != nil {
			return receivers.Permanent(fmt.Errorf("webhook_url_file: %w", err))
		}
		return classify(slack.PostWebhookCustomHTTPContext(ctx, hook, client, &slack.WebhookMessage{Attachments: []slack.Attachment{att}}))
	}
	token, err := receivers.ReadSecret(r.conf.BotToken, r.conf.BotTokenFile)
	if err != nil {
		return err
	}
	secrets = append(secrets, token)
	api := slack.New(token, slack.OptionAPIURL(r.conf.APIURL), slack.OptionHTTPClient(client))
	_, _, err = api.PostMessageContext(ctx, r.conf.Channel, slack.MsgOptionAttachments(att))
	return classify(err)
}

func (r *Receiver) attachment(m *receivers.Message) (slack.Attachment, error) {
	data := receivers.MapValues(m.Data, escape)
	title, err := r.tmpl.Text(r.conf.Title, data)
	if err != nil {
		return slack.Attachment{}, fmt.Errorf("render title: %w", err)
	}
	limit := maxText
	if r.conf.HasButtons() {
		// The text shares a section with the title, as "*title*\n" + text.
		title = receivers.TruncateBytes(title, maxSectionText/4)
		limit = maxSectionText - len(title) - len("**\n")
	}
	text, err := receivers.Truncated(data, limit, func(d *receivers.Data) (string, error) { return r.tmpl.Text(r.conf.Text, d) })
	if err != nil {
		return slack.Attachment{}, fmt.Errorf("render text: %w", err)
	}
	att := slack.Attachment{
		Color:      Color(m.Data),
		Title:      title,
		Fallback:   title,
		Text:       text,
		MarkdownIn: []string{"text"},
	}
	if r.conf.HasButtons() {
		withButtons(&att, m)
	}
	return att, nil
}

// ActionLinks: with an app token, the buttons carry the action links
// (receivers.ActionLinked).
func (r *Receiver) ActionLinks() (show, asButtons bool) {
	return r.conf.HasButtons(), true
}

// Preview is the attachment Send would post, as JSON.
func (r *Receiver) Preview(m *receivers.Message) (string, error) {
	att, err := r.attachment(m)
	if err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(att, "", "  ")
	return string(b), err
}

var (
	_ receivers.Previewer    = (*Receiver)(nil)
	_ receivers.ActionLinked = (*Receiver)(nil)
)

// Color is the attachment's bar: green when resolved, else by the most severe firing alert.
func Color(d *receivers.Data) string {
	return [...]string{receivers.Resolved: "good", receivers.Info: "#439FE0", receivers.Warning: "warning", receivers.Critical: "danger"}[receivers.UrgencyOf(d)]
}

// classify sorts Slack's answers for the dispatcher: rate limits wait, 5xx and network
// errors retry, and bad tokens, channels or payloads are permanent.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var limited *slack.RateLimitedError
	if errors.As(err, &limited) {
		return receivers.Throttled(err, receivers.CapRetryAfter(limited.RetryAfter))
	}
	var status slack.StatusCodeError
	if errors.As(err, &status) {
		switch {
		case status.Code == http.StatusTooManyRequests:
			return receivers.Throttled(err, 0)
		case status.Code >= 500, status.Code == http.StatusRequestTimeout:
			return err
		}
		return receivers.Permanent(err)
	}
	var api slack.SlackErrorResponse
	if errors.As(err, &api) {
		switch api.Err {
		case "ratelimited", "rate_limited":
			return receivers.Throttled(err, 0)
		case "internal_error", "fatal_error", "service_unavailable", "request_timeout":
			return err
		}
		return receivers.Permanent(fmt.Errorf("slack: %s", api.Err))
	}
	return receivers.RedactURL(err)
}
