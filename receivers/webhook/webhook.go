// Package webhook is the receiver that posts the Alertmanager webhook payload (version 4)
// to a URL, so that anything written for Alertmanager's webhook_config works behind
// alertrouter unchanged.
package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/alertrouter/alertrouter/config/duration"
	"github.com/alertrouter/alertrouter/receivers"
)

// DefaultTimeout bounds one delivery attempt.
const DefaultTimeout = 10 * time.Second

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

	receivers.HTTPClientConfig `yaml:",inline"`
}

var (
	_ receivers.Config      = (*Config)(nil)
	_ receivers.SecretFiler = (*Config)(nil)
)

// Validate checks the config; errors never quote the URL.
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
	return c.HTTPClientConfig.Validate()
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
	conf   *Config
	client receivers.HTTPClient
}

var _ receivers.Receiver = (*Receiver)(nil)

// New returns a receiver for a validated conf.
func New(conf *Config) *Receiver {
	return &Receiver{conf: conf, client: receivers.NewHTTPClientFor(&conf.HTTPClientConfig, conf.Timeout.Or(DefaultTimeout))}
}

// Send posts the message as an Alertmanager webhook payload.
func (r *Receiver) Send(ctx context.Context, m *receivers.Message) (err error) {
	rawURL, err := receivers.ReadSecret(r.conf.URL, r.conf.URLFile)
	if err != nil {
		return err
	}
	var token string
	// The destination's answer may echo the URL or the token back: the error must not.
	defer func() { err = receivers.Scrub(err, append(r.conf.Secrets(), rawURL, token)...) }()
	client, err := r.client.Get()
	if err != nil {
		return err
	}
	if err := receivers.CheckURL(rawURL); err != nil {
		return receivers.Permanent(fmt.Errorf("url_file: %w", err))
	}
	token, err = receivers.ReadSecret(r.conf.BearerToken, r.conf.BearerTokenFile)
	if err != nil {
		return err
	}
	data := *m.Data
	var truncated uint64
	if r.conf.MaxAlerts > 0 && len(data.Alerts) > r.conf.MaxAlerts {
		truncated = uint64(len(data.Alerts) - r.conf.MaxAlerts)
		data.Alerts = data.Alerts[:r.conf.MaxAlerts]
	}
	body, err := json.Marshal(&Payload{
		Data:            &data,
		Version:         "4",
		GroupKey:        GroupKey(m),
		TruncatedAlerts: truncated,
	})
	if err != nil {
		return receivers.Permanent(fmt.Errorf("encode: %w", err))
	}
	return receivers.PostJSON(ctx, client, rawURL, token, body, http.Header{
		// Lets the destination drop the duplicates that at-least-once delivery allows.
		"X-Alertrouter-Notification-Id": {strconv.FormatInt(m.ID, 10)},
	})
}

// GroupKey identifies the group of alerts a message carries, in the spirit of Alertmanager's.
func GroupKey(m *receivers.Message) string {
	return "alertrouter/" + m.Route + ":" + receivers.LabelSet(m.Data.GroupLabels).String()
}
