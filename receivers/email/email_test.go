package email

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
	gomail "github.com/wneessen/go-mail"

	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/receivers/email/smtptest"
	"github.com/alertrouter/alertrouter/receivers/receivertest"
)

func config(t *testing.T, s *smtptest.Server) Config {
	return Config{
		To: []string{"pay-oncall@example.com"}, From: "alertrouter@example.com", Smarthost: s.Addr(),
		AuthUsername: smtptest.Username, AuthPassword: smtptest.Password, CAFile: s.CAFile(t), Timeout: 0,
	}
}

func newReceiver(t *testing.T, c Config) *Receiver {
	t.Helper()
	return New(&c, receivertest.Prepare(t, &c))
}

// parts splits a received message into its headers and its text and HTML bodies.
func parts(t *testing.T, raw []byte) (mail.Header, string, string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("content type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var text, html string
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			text = string(b)
		case "text/html":
			html = string(b)
		}
	}
	return msg.Header, text, html
}

func TestSendsHTMLAndTextOverSTARTTLSWithAuth(t *testing.T) {
	s := smtptest.Start(t)
	r := newReceiver(t, config(t, s))
	m := receivertest.Message(2, "firing", "critical")
	m.Data.Alerts[0].Annotations["summary"] = "<script>alert(1)</script>"
	if err := r.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	msgs, authed := s.Messages(), s.Authed()
	if len(msgs) != 1 || len(authed) != 1 || strings.Join(msgs[0].To, ",") != "pay-oncall@example.com" {
		t.Fatalf("server saw %d messages, auth %v, messages %+v", len(msgs), authed, msgs)
	}
	h, text, html := parts(t, msgs[0].Data)
	dec := new(mime.WordDecoder)
	subject, _ := dec.DecodeHeader(h.Get("Subject"))
	if subject != "[FIRING:2] GPUTemperatureHigh (gpu-render-a)" || h.Get("From") != "<alertrouter@example.com>" ||
		h.Get("To") != "<pay-oncall@example.com>" || h.Get("X-Alertrouter-Notification-Id") != "7" {
		t.Fatalf("headers: subject %q from %q to %q id %q", subject, h.Get("From"), h.Get("To"), h.Get("X-Alertrouter-Notification-Id"))
	}
	if !strings.Contains(text, "- GPUTemperatureHigh on gpu-node-02:9400: GPU 0 on gpu-node-02 is at 87°C (since 2026-11-21 16:00:00 CST)") {
		t.Fatalf("text body:\n%s", text)
	}
	if strings.Contains(html, "<script>") || !strings.Contains(html, "&lt;script&gt;") {
		t.Fatalf("HTML body does not escape label values:\n%s", html)
	}
}

func TestHeaderInjectionIsDefused(t *testing.T) {
	s := smtptest.Start(t)
	c := config(t, s)
	c.Subject = `{{ (index .Alerts 0).Labels.instance }}`
	r := newReceiver(t, c)
	m := receivertest.Message(1, "firing", "critical")
	m.Data.Alerts[0].Labels["instance"] = "node-1\r\nBcc: attacker@example.com"
	if err := r.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	msgs := s.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server saw %d messages", len(msgs))
	}
	h, _, _ := parts(t, msgs[0].Data)
	if h.Get("Bcc") != "" || len(msgs[0].To) != 1 {
		t.Fatalf("the label added a header or a recipient: bcc %q rcpts %v", h.Get("Bcc"), msgs[0].To)
	}
	if !strings.Contains(h.Get("Subject"), "node-1") {
		t.Fatalf("subject = %q", h.Get("Subject"))
	}
}

func TestSMTPAnswersAreClassified(t *testing.T) {
	s := smtptest.Start(t)
	tests := []struct {
		name      string
		fail      *smtp.SMTPError
		refuse    int // transactions refused with 451 4.3.0
		password  string
		permanent bool
	}{
		{"451 try again later", nil, 1, smtptest.Password, false},
		{"550 rejected", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Relaying denied"}, 0, smtptest.Password, true},
		{"535 bad password", nil, 0, "wrong-s3cr3t", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.SetMailError(tt.fail)
			s.Refuse(tt.refuse)
			c := config(t, s)
			c.AuthPassword = receivers.Secret(tt.password)
			err := newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "firing", "warning"))
			if err == nil || receivers.IsPermanent(err) != tt.permanent {
				t.Fatalf("err = %v, permanent = %v, want %v", err, receivers.IsPermanent(err), tt.permanent)
			}
			receivertest.NoSecrets(t, "error", err.Error(), tt.password)
		})
	}
}

func TestUnreachableAndUntrustedServers(t *testing.T) {
	s := smtptest.Start(t)
	c := config(t, s)
	c.CAFile = "" // the self-signed certificate is not trusted
	err := newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "firing", "warning"))
	if err == nil {
		t.Fatal("sent over an untrusted certificate")
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	c = config(t, s)
	c.Smarthost = addr
	err = newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "firing", "warning"))
	if err == nil || receivers.IsPermanent(err) {
		t.Fatalf("connection refused: %v, want retryable", err)
	}
	receivertest.NoSecrets(t, "error", err.Error(), smtptest.Password)
}

func TestValidate(t *testing.T) {
	ok := Config{To: []string{"a@example.com"}, From: "b@example.com", Smarthost: "smtp.example.com:587"}
	tests := []struct {
		mod   func(*Config)
		field string
	}{
		{func(*Config) {}, ""},
		{func(c *Config) { c.To = nil }, "to"},
		{func(c *Config) { c.To = []string{"nobody"} }, "to[0]"},
		{func(c *Config) { c.From = "" }, "from"},
		{func(c *Config) { c.Smarthost = "smtp.example.com" }, "smarthost"},
		{func(c *Config) { c.TLS = "ssl" }, "tls"},
		{func(c *Config) { c.AuthPassword = "p" }, "auth_username"},
		{func(c *Config) { c.TLS = "none"; c.AuthUsername = "u"; c.AuthPassword = "p" }, "tls"},
	}
	for i, tt := range tests {
		c := ok
		tt.mod(&c)
		if err := c.Validate(); !receivertest.IsFieldError(err, tt.field) {
			t.Errorf("case %d: %v, want problem with %q", i, err, tt.field)
		}
	}
}

// A recipient the server refuses does not stop the others.
func TestOneRefusedRecipientDoesNotStopTheOthers(t *testing.T) {
	s := smtptest.Start(t)
	tests := []struct {
		to        []string
		delivered int
		partial   bool
		permanent bool
	}{
		{[]string{"oncall@example.com", "left-the-company@example.com"}, 1, true, false},
		{[]string{"left-the-company@example.com"}, 0, false, true},
		{[]string{"oncall@example.com", "greylisted@example.com"}, 1, false, false}, // retried
	}
	for _, tt := range tests {
		before := len(s.Messages())
		c := config(t, s)
		c.To = tt.to
		err := newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "firing", "critical"))
		if got := len(s.Messages()) - before; got != tt.delivered {
			t.Errorf("%v: %d delivered, want %d", tt.to, got, tt.delivered)
		}
		if err == nil || receivers.IsPartial(err) != tt.partial || receivers.IsPermanent(err) != tt.permanent {
			t.Errorf("%v: err %v (partial %v, permanent %v)", tt.to, err, receivers.IsPartial(err), receivers.IsPermanent(err))
		}
		if err != nil && !strings.Contains(err.Error(), tt.to[len(tt.to)-1]) {
			t.Errorf("%v: the error does not name the refused recipient: %v", tt.to, err)
		}
	}
}

// A recipient the server refuses for now (greylisting) makes the notification retried:
// the retry goes to that recipient alone, not again to those who got it.
func TestRetryGoesOnlyToRecipientsWithoutIt(t *testing.T) {
	s := smtptest.Start(t)
	c := config(t, s)
	c.To = []string{"oncall@example.com", "greylisted@example.com", "left-the-company@example.com"}
	r := newReceiver(t, c)
	m := receivertest.Message(1, "firing", "critical")
	for try := 1; try <= 3; try++ {
		err := r.Send(context.Background(), m)
		if err == nil || receivers.IsPermanent(err) || receivers.IsPartial(err) || !strings.Contains(err.Error(), "greylisted@") {
			t.Fatalf("try %d: err %v, want a retryable error naming the greylisted recipient", try, err)
		}
	}
	var oncall int
	for _, msg := range s.Messages() {
		if slices.Contains(msg.To, "oncall@example.com") {
			oncall++
		}
	}
	if oncall != 1 {
		t.Errorf("oncall@ got %d copies in 3 tries, want 1", oncall)
	}
	// A test from the console (no notification id) keeps no progress: each goes to all.
	test := receivertest.Message(1, "firing", "critical")
	test.ID = 0
	for range 2 {
		_ = r.Send(context.Background(), test)
	}
	if got := len(s.Messages()); got != 3 {
		t.Errorf("after two tests, %d messages delivered, want 3 (one, then one to oncall@ per test)", got)
	}
}

// A 451 at MAIL FROM is a temporary failure: the notification is retried, and goes out on
// the next try.
func TestTemporaryFailureIsRetried(t *testing.T) {
	s := smtptest.Start(t)
	s.Refuse(1)
	r := newReceiver(t, config(t, s))
	err := r.Send(context.Background(), receivertest.Message(1, "firing", "critical"))
	var se *gomail.SendError
	if err == nil || receivers.IsPermanent(err) || receivers.IsPartial(err) || !errors.As(err, &se) || !se.IsTemp() || se.ErrorCode() != 451 {
		t.Fatalf("err = %v, want a retryable 451", err)
	}
	if s.Refused() != 1 || len(s.Messages()) != 0 {
		t.Fatalf("refused %d, %d messages: want 1 refused and none delivered", s.Refused(), len(s.Messages()))
	}
	if err := r.Send(context.Background(), receivertest.Message(1, "firing", "critical")); err != nil {
		t.Fatalf("after the refusal: %v", err)
	}
	if s.Refused() != 1 || len(s.Messages()) != 1 {
		t.Fatalf("refused %d, %d messages: want 1 and 1", s.Refused(), len(s.Messages()))
	}
}

// A server that quotes the credentials it refused: the error keeps the password out.
func TestEchoedCredentialsLeakNoSecret(t *testing.T) {
	s := smtptest.Start(t)
	s.EchoCredentials()
	c := config(t, s)
	c.AuthPassword = "wr0ng-p4ssw0rd"
	err := newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "firing", "critical"))
	if err == nil || !receivers.IsPermanent(err) || !strings.Contains(err.Error(), "Authentication failed for "+smtptest.Username) {
		t.Fatalf("refused AUTH: %v, want a permanent error that quotes the server", err)
	}
	receivertest.NoSecrets(t, "error", err.Error(), "wr0ng-p4ssw0rd")
}
