package receivers

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/alertrouter/alertrouter/config/duration"
)

// RobotConfig is what the China IM robot receivers (dingtalk, wecom, feishu) share; each
// embeds it inline, so its fields sit beside the platform's own.
type RobotConfig struct {
	// WebhookURL carries the robot's token: it is a secret. WebhookURLFile is read at every send.
	WebhookURL     Secret `yaml:"webhook_url"`
	WebhookURLFile string `yaml:"webhook_url_file"`
	// MessageType is one of the platform's message types (RobotDefaults.MessageTypes).
	MessageType string `yaml:"message_type"`
	// Title and Text are templates; their defaults are the Language's (see Language.Template):
	// im.LANG.text for text messages, im.LANG.markdown for the others.
	Title    string   `yaml:"title"`
	Text     string   `yaml:"text"`
	Language Language `yaml:"language"`
	// RateLimit (messages per second) and Burst pace the receiver; the defaults follow the
	// platform's limit per robot.
	RateLimit float64           `yaml:"rate_limit"`
	Burst     int               `yaml:"burst"`
	Timeout   duration.Duration `yaml:"timeout"`
	// ThrottleWait is how long the receiver pauses after the robot says "too fast": the
	// platforms do not say how long.
	ThrottleWait duration.Duration `yaml:"throttle_wait"`

	HTTPClientConfig `yaml:",inline"`
}

// RobotDefaults are one platform's defaults for a RobotConfig.
type RobotDefaults struct {
	RateLimit    float64
	Burst        int
	ThrottleWait time.Duration
	// MessageTypes are the platform's message types alertrouter sends; the first is the default.
	MessageTypes []string
}

// TextMessage is the message type of plain text, which every robot takes.
const TextMessage = "text"

// DefaultRobotTimeout bounds one attempt.
const DefaultRobotTimeout = 10 * time.Second

// Validate checks the shared fields and fills in the defaults; errors never quote the URL.
func (c *RobotConfig) Validate(def RobotDefaults) error {
	switch {
	case c.WebhookURL == "" && c.WebhookURLFile == "":
		return &FieldError{Field: "webhook_url", Msg: "one of webhook_url or webhook_url_file is required"}
	case c.WebhookURL != "" && c.WebhookURLFile != "":
		return &FieldError{Field: "webhook_url", Msg: "webhook_url and webhook_url_file are mutually exclusive"}
	case c.RateLimit < 0 || math.IsNaN(c.RateLimit) || math.IsInf(c.RateLimit, 0):
		return &FieldError{Field: "rate_limit", Msg: "must be a positive number of messages per second"}
	case c.Burst < 0:
		return &FieldError{Field: "burst", Msg: "must not be negative"}
	case c.Timeout < 0:
		return &FieldError{Field: "timeout", Msg: "must not be negative"}
	case c.ThrottleWait < 0:
		return &FieldError{Field: "throttle_wait", Msg: "must not be negative"}
	}
	if c.WebhookURL != "" {
		if err := CheckURL(string(c.WebhookURL)); err != nil {
			return &FieldError{Field: "webhook_url", Msg: err.Error()}
		}
	}
	switch {
	case c.MessageType == "":
		c.MessageType = def.MessageTypes[0]
	case !slices.Contains(def.MessageTypes, c.MessageType):
		return &FieldError{Field: "message_type", Msg: fmt.Sprintf("unknown message type %q (want %s)", c.MessageType, strings.Join(def.MessageTypes, " or "))}
	}
	if err := c.Language.Validate(); err != nil {
		return err
	}
	if c.Title == "" {
		c.Title = c.Language.Template("title")
	}
	if c.Text == "" {
		part := "markdown"
		if c.MessageType == TextMessage {
			part = "text"
		}
		c.Text = c.Language.Template(part)
	}
	if c.RateLimit == 0 {
		c.RateLimit = def.RateLimit
	}
	if c.Burst == 0 {
		c.Burst = def.Burst
	}
	if c.ThrottleWait == 0 {
		c.ThrottleWait = duration.Duration(def.ThrottleWait)
	}
	return c.HTTPClientConfig.Validate()
}

// CheckTemplates renders the title and text once, so that a broken template rejects the config.
func (c *RobotConfig) CheckTemplates(t *Templates) error {
	return t.CheckFields(TemplateField{Name: "title", Text: c.Title}, TemplateField{Name: "text", Text: c.Text})
}

// URL reads the webhook URL (from its file, at every send) and checks it without quoting it.
func (c *RobotConfig) URL() (string, error) {
	u, err := ReadSecret(c.WebhookURL, c.WebhookURLFile)
	if err != nil {
		return "", err
	}
	if err := CheckURL(u); err != nil {
		return "", Permanent(fmt.Errorf("webhook_url_file: %w", err))
	}
	return u, nil
}

// RobotSecret is the signing secret of a DingTalk or Feishu robot ("加签"), embedded inline.
type RobotSecret struct {
	Secret     Secret `yaml:"secret"`
	SecretFile string `yaml:"secret_file"`
}

// Validate refuses both forms at once.
func (s *RobotSecret) Validate() error {
	if s.Secret != "" && s.SecretFile != "" {
		return &FieldError{Field: "secret", Msg: "secret and secret_file are mutually exclusive"}
	}
	return nil
}

// Read returns the secret, "" when none is configured.
func (s *RobotSecret) Read() (string, error) { return ReadSecret(s.Secret, s.SecretFile) }

// HMACSHA256 is base64(HMAC-SHA256(key, message)), the signature both DingTalk and Feishu
// use, with key and message the other way round from each other.
func HMACSHA256(key, message string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(message))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// MarshalJSON encodes v as json.Marshal does but without escaping <, > and & as \u003c...:
// the robots' size limits count bytes, and their markup (<at>, <font>) must arrive as written.
func MarshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Robot is what the IM robot receivers share when they send: their config's templates,
// their HTTP client and their pace. Each receiver embeds one, beside its own config.
type Robot struct {
	conf   *RobotConfig
	tmpl   *Templates
	client HTTPClient
}

// NewRobot is the Robot of a validated config.
func NewRobot(conf *RobotConfig, tmpl *Templates) Robot {
	return Robot{conf: conf, tmpl: tmpl, client: NewHTTPClientFor(&conf.HTTPClientConfig, conf.Timeout.Or(DefaultRobotTimeout))}
}

// RateLimit is how fast the dispatcher may send to the robot.
func (r *Robot) RateLimit() (float64, int) { return r.conf.RateLimit, r.conf.Burst }

// ActionLinks: the robots' messages carry action links (ActionLinked).
func (r *Robot) ActionLinks() (show, asButtons bool) { return true, false }

// Client is the robot's HTTP client, or why there is none.
func (r *Robot) Client() (*http.Client, error) { return r.client.Get() }

// Data is m's template data with its values escaped (IMEscape, IMEscapeURL): data that
// can mention no one and make no markup.
func (r *Robot) Data(m *Message) *Data { return MapData(m.Data, IMEscape, IMEscapeURL) }

// Title renders the title template on escaped data.
func (r *Robot) Title(d *Data) (string, error) { return r.tmpl.Text(r.conf.Title, d) }

// Text renders the text template on escaped data.
func (r *Robot) Text(d *Data) (string, error) { return r.tmpl.Text(r.conf.Text, d) }
