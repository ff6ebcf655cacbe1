// Package email sends notifications by SMTP, as HTML with a plain-text alternative.
package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/mail"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/alertrouter/alertrouter/config/duration"
	"github.com/alertrouter/alertrouter/receivers"
)

// Defaults.
const (
	DefaultSubject = `{{ template "email.alertrouter.subject" . }}`
	DefaultHTML    = `{{ template "email.default.html" . }}`
	DefaultText    = `{{ template "email.alertrouter.text" . }}`
	DefaultTimeout = 30 * time.Second
	// maxText bounds the plain-text body; the HTML body is Alertmanager's own layout.
	maxText = 256 << 10
)

// TLS modes.
const (
	TLSStartTLS = "starttls" // mandatory STARTTLS, usually on 587
	TLSImplicit = "tls"      // TLS from the first byte, usually on 465
	TLSNone     = "none"     // plain text: only for a relay on a trusted network
)

// Config configures an email receiver.
type Config struct {
	To               []string         `yaml:"to"`
	From             string           `yaml:"from"`
	Smarthost        string           `yaml:"smarthost"` // host:port
	AuthUsername     string           `yaml:"auth_username"`
	AuthPassword     receivers.Secret `yaml:"auth_password"`
	AuthPasswordFile string           `yaml:"auth_password_file"`
	TLS              string           `yaml:"tls"`
	// CAFile adds certificate authorities to trust, for relays with a private CA.
	CAFile  string            `yaml:"ca_file"`
	Subject string            `yaml:"subject"`
	HTML    string            `yaml:"html"`
	Text    string            `yaml:"text"`
	Timeout duration.Duration `yaml:"timeout"`
}

var (
	_ receivers.Config          = (*Config)(nil)
	_ receivers.SecretFiler     = (*Config)(nil)
	_ receivers.TemplateChecker = (*Config)(nil)
)

// Validate checks the config and fills in defaults.
func (c *Config) Validate() error {
	if len(c.To) == 0 {
		return &receivers.FieldError{Field: "to", Msg: "at least one address is required"}
	}
	for i, to := range c.To {
		if _, err := mail.ParseAddress(to); err != nil {
			return &receivers.FieldError{Field: fmt.Sprintf("to[%d]", i), Msg: fmt.Sprintf("%q is not an email address", to)}
		}
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return &receivers.FieldError{Field: "from", Msg: fmt.Sprintf("%q is not an email address", c.From)}
	}
	host, port, err := net.SplitHostPort(c.Smarthost)
	if p, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || p <= 0 || p > 65535 {
		return &receivers.FieldError{Field: "smarthost", Msg: fmt.Sprintf("%q is not host:port", c.Smarthost)}
	}
	if c.AuthPassword != "" && c.AuthPasswordFile != "" {
		return &receivers.FieldError{Field: "auth_password", Msg: "auth_password and auth_password_file are mutually exclusive"}
	}
	if (c.AuthPassword != "" || c.AuthPasswordFile != "") && c.AuthUsername == "" {
		return &receivers.FieldError{Field: "auth_username", Msg: "is required with a password"}
	}
	switch c.TLS {
	case "":
		c.TLS = TLSStartTLS
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return &receivers.FieldError{Field: "tls", Msg: fmt.Sprintf("%q: want starttls, tls or none", c.TLS)}
	}
	if c.TLS == TLSNone && c.AuthUsername != "" {
		return &receivers.FieldError{Field: "tls", Msg: "none would send the password in clear text: use starttls or tls"}
	}
	if c.Subject == "" {
		c.Subject = DefaultSubject
	}
	if c.HTML == "" {
		c.HTML = DefaultHTML
	}
	if c.Text == "" {
		c.Text = DefaultText
	}
	return nil
}

// CheckTemplates renders the subject and bodies once, so that a broken template rejects the config.
func (c *Config) CheckTemplates(t *receivers.Templates) error {
	return t.CheckFields(
		receivers.TemplateField{Name: "subject", Text: c.Subject},
		receivers.TemplateField{Name: "html", Text: c.HTML, HTML: true},
		receivers.TemplateField{Name: "text", Text: c.Text},
	)
}

// SecretFiles lists the files read at send time by field, for `config check` to try.
func (c *Config) SecretFiles() map[string]string {
	return map[string]string{"auth_password_file": c.AuthPasswordFile, "ca_file": c.CAFile}
}

// Receiver sends mail through one smarthost.
type Receiver struct {
	conf *Config
	tmpl *receivers.Templates
	// progress is who got a notification before a try failed for others (a greylisting
	// server): the retry sends only to the others, who got it twice before.
	progress receivers.Progress[map[string]bool]
}

var _ receivers.Receiver = (*Receiver)(nil)

// New returns a receiver for a validated conf.
func New(conf *Config, tmpl *receivers.Templates) *Receiver {
	return &Receiver{conf: conf, tmpl: tmpl}
}

// headerSafe removes what could end a header line: a label value with "\r\nBcc: x"
// must not add a header.
var headerSafe = strings.NewReplacer("\r", " ", "\n", " ").Replace

// ActionLinks: mails carry action links (receivers.ActionLinked).
func (r *Receiver) ActionLinks() (show, asButtons bool) { return true, false }

// Send renders the notification and delivers one message per recipient over one
// connection, so that a recipient the server refuses does not hold back the others.
// SMTP 4xx answers and network errors are retried; 5xx answers (bad credentials, a
// rejected recipient) are permanent; some recipients refused for good while others got
// it is a Partial delivery.
func (r *Receiver) Send(ctx context.Context, m *receivers.Message) (err error) {
	subject, html, text, err := r.rendered(m)
	if err != nil {
		return receivers.Permanent(err)
	}
	got := r.progress.Of(m.ID)
	var to []string
	for _, addr := range r.conf.To {
		if !got[addr] {
			to = append(to, addr)
		}
	}
	msgs := make([]*gomail.Msg, len(to))
	for i, addr := range to {
		msg, err := r.message(subject, html, text, addr, m.ID)
		if err != nil {
			return receivers.Permanent(err)
		}
		msgs[i] = msg
	}
	if len(msgs) == 0 {
		r.progress.Forget(m.ID)
		return nil
	}
	client, password, err := r.client()
	if err != nil {
		return err
	}
	// A server's answer may quote what it was sent, AUTH included.
	defer func() { err = receivers.Scrub(err, password) }()
	sendErr := client.DialAndSendWithContext(ctx, msgs...)
	if sendErr == nil {
		r.progress.Forget(m.ID)
		return nil
	}
	var temporary, refused []error
	delivered := map[string]bool{}
	maps.Copy(delivered, got)
	for i, msg := range msgs {
		if !msg.HasSendError() {
			delivered[to[i]] = true
			continue
		}
		err := fmt.Errorf("%s: %w", to[i], msg.SendError())
		if receivers.IsPermanent(classify(msg.SendError())) {
			refused = append(refused, err)
		} else {
			temporary = append(temporary, err)
		}
	}
	switch {
	case len(temporary)+len(refused) == 0: // the connection or the session failed as a whole
		return classify(sendErr)
	case len(temporary) > 0:
		r.progress.Keep(m.ID, delivered)
		return errors.Join(append(temporary, refused...)...)
	}
	r.progress.Forget(m.ID)
	if len(refused) == len(msgs) && len(got) == 0 {
		return receivers.Permanent(errors.Join(refused...))
	}
	return receivers.Partial(errors.Join(refused...))
}

// rendered is a message's subject, HTML and plain-text bodies.
func (r *Receiver) rendered(m *receivers.Message) (subject, html, text string, err error) {
	if subject, err = r.tmpl.Text(r.conf.Subject, m.Data); err != nil {
		return "", "", "", fmt.Errorf("render subject: %w", err)
	}
	if html, err = r.tmpl.HTML(r.conf.HTML, m.Data); err != nil {
		return "", "", "", fmt.Errorf("render html: %w", err)
	}
	text, err = receivers.Truncated(m.Data, maxText, func(d *receivers.Data) (string, error) { return r.tmpl.Text(r.conf.Text, d) })
	if err != nil {
		return "", "", "", fmt.Errorf("render text: %w", err)
	}
	return headerSafe(subject), html, text, nil
}

// Preview is the subject and the plain-text body Send would mail.
func (r *Receiver) Preview(m *receivers.Message) (string, error) {
	subject, _, text, err := r.rendered(m)
	if err != nil {
		return "", err
	}
	return "Subject: " + subject + "\n\n" + text, nil
}

var (
	_ receivers.Previewer    = (*Receiver)(nil)
	_ receivers.ActionLinked = (*Receiver)(nil)
)

// message is the mail to one recipient; every recipient gets the same rendering.
func (r *Receiver) message(subject, html, text, to string, id int64) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(r.conf.From); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := msg.To(to); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	msg.Subject(subject)
	msg.SetDate()
	msg.SetMessageID()
	// Lets mail filters and the destination drop at-least-once repeats.
	msg.SetGenHeader("X-Alertrouter-Notification-Id", strconv.FormatInt(id, 10))
	msg.SetBodyString(gomail.TypeTextPlain, text)
	msg.AddAlternativeString(gomail.TypeTextHTML, html)
	return msg, nil
}

// client returns a client for the smarthost, and the password it authenticates with.
func (r *Receiver) client() (*gomail.Client, string, error) {
	host, portStr, _ := net.SplitHostPort(r.conf.Smarthost)
	port, _ := strconv.Atoi(portStr)
	timeout := r.conf.Timeout.Or(DefaultTimeout)
	opts := []gomail.Option{gomail.WithPort(port), gomail.WithTimeout(timeout)}
	tlsConf := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if r.conf.CAFile != "" {
		pem, err := os.ReadFile(r.conf.CAFile)
		if err != nil {
			return nil, "", fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, "", receivers.Permanent(errors.New("ca_file: no PEM certificates in it"))
		}
		tlsConf.RootCAs = pool
	}
	switch r.conf.TLS {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSConfig(tlsConf))
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory), gomail.WithTLSConfig(tlsConf))
	}
	var password string
	if r.conf.AuthUsername != "" {
		var err error
		if password, err = receivers.ReadSecret(r.conf.AuthPassword, r.conf.AuthPasswordFile); err != nil {
			return nil, "", err
		}
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain),
			gomail.WithUsername(r.conf.AuthUsername), gomail.WithPassword(password))
	}
	client, err := gomail.NewClient(host, opts...)
	if err != nil {
		return nil, "", receivers.Permanent(fmt.Errorf("smtp client: %w", err))
	}
	return client, password, nil
}

// classify: an SMTP 5xx answer is permanent; 4xx answers, timeouts and connection
// errors are retried.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var se *gomail.SendError
	if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 {
		return receivers.Permanent(err)
	}
	// Answers outside a send, such as AUTH's 535, come as textproto errors.
	var tp *textproto.Error
	if errors.As(err, &tp) && tp.Code >= 500 {
		return receivers.Permanent(err)
	}
	return err
}
