package email

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/receivers/receivertest"
)

// smtpServer is a real SMTP server (go-smtp) with STARTTLS and AUTH PLAIN, whose answers
// the test can script.
type smtpServer struct {
	mu       sync.Mutex
	fail     *smtp.SMTPError // answer to MAIL FROM when set
	messages [][]byte
	rcpts    [][]string
	addr     string
	caFile   string
	authed   []string
}

type session struct {
	s     *smtpServer
	rcpts []string
	auth  bool
}

func (s *smtpServer) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }

func (se *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (se *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "alertrouter@example.com" || pass != "smtp-s3cr3t" {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication failed"}
		}
		se.auth = true
		se.s.mu.Lock()
		se.s.authed = append(se.s.authed, user)
		se.s.mu.Unlock()
		return nil
	}), nil
}
func (se *session) Mail(string, *smtp.MailOptions) error {
	se.s.mu.Lock()
	defer se.s.mu.Unlock()
	if se.s.fail != nil {
		return se.s.fail
	}
	if !se.auth {
		return &smtp.SMTPError{Code: 530, Message: "Authentication required"}
	}
	return nil
}
func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	switch {
	case strings.HasPrefix(to, "left-the-company@"):
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
	case strings.HasPrefix(to, "greylisted@"):
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Greylisted"}
	}
	se.rcpts = append(se.rcpts, to)
	return nil
}
func (se *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	se.s.mu.Lock()
	defer se.s.mu.Unlock()
	se.s.messages = append(se.s.messages, b)
	se.s.rcpts = append(se.s.rcpts, se.rcpts)
	return nil
}
func (se *session) Reset()        { se.rcpts = nil }
func (se *session) Logout() error { return nil }

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	cert, caPEM := selfSigned(t)
	s := &smtpServer{}
	srv := smtp.NewServer(s)
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.AllowInsecureAuth = false // AUTH only after STARTTLS
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	s.addr = ln.Addr().String()
	s.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(s.caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test smtp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		t.Fatal(err)
	}
	return cert, certPEM
}

func (s *smtpServer) config() Config {
	return Config{
		To: []string{"pay-oncall@example.com"}, From: "alertrouter@example.com", Smarthost: s.addr,
		AuthUsername: "alertrouter@example.com", AuthPassword: "smtp-s3cr3t", CAFile: s.caFile, Timeout: 0,
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
	s := startSMTP(t)
	r := newReceiver(t, s.config())
	m := receivertest.Message(2, "firing", "critical")
	m.Data.Alerts[0].Annotations["summary"] = "<script>alert(1)</script>"
	if err := r.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if len(s.messages) != 1 || len(s.authed) != 1 || strings.Join(s.rcpts[0], ",") != "pay-oncall@example.com" {
		t.Fatalf("server saw %d messages, auth %v, rcpts %v", len(s.messages), s.authed, s.rcpts)
	}
	h, text, html := parts(t, s.messages[0])
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
	s := startSMTP(t)
	c := s.config()
	c.Subject = `{{ (index .Alerts 0).Labels.instance }}`
	r := newReceiver(t, c)
	m := receivertest.Message(1, "firing", "critical")
	m.Data.Alerts[0].Labels["instance"] = "node-1\r\nBcc: attacker@example.com"
	if err := r.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	h, _, _ := parts(t, s.messages[0])
	if h.Get("Bcc") != "" || len(s.rcpts[0]) != 1 {
		t.Fatalf("the label added a header or a recipient: bcc %q rcpts %v", h.Get("Bcc"), s.rcpts[0])
	}
	if !strings.Contains(h.Get("Subject"), "node-1") {
		t.Fatalf("subject = %q", h.Get("Subject"))
	}
}

func TestSMTPAnswersAreClassified(t *testing.T) {
	s := startSMTP(t)
	tests := []struct {
		name      string
		fail      *smtp.SMTPError
		password  string
		permanent bool
	}{
		{"451 greylisting", &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Try again later"}, "smtp-s3cr3t", false},
		{"550 rejected", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Relaying denied"}, "smtp-s3cr3t", true},
		{"535 bad password", nil, "wrong-s3cr3t", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.mu.Lock()
			s.fail = tt.fail
			s.mu.Unlock()
			c := s.config()
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
	s := startSMTP(t)
	c := s.config()
	c.CAFile = "" // the self-signed certificate is not trusted
	err := newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "firing", "warning"))
	if err == nil {
		t.Fatal("sent over an untrusted certificate")
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	c = s.config()
	c.Smarthost = addr
	err = newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "firing", "warning"))
	if err == nil || receivers.IsPermanent(err) {
		t.Fatalf("connection refused: %v, want retryable", err)
	}
	receivertest.NoSecrets(t, "error", err.Error(), "smtp-s3cr3t")
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
		err := c.Validate()
		var fe *receivers.FieldError
		if (tt.field == "") != (err == nil) || (err != nil && (!errors.As(err, &fe) || fe.Field != tt.field)) {
			t.Errorf("case %d: %v, want problem with %q", i, err, tt.field)
		}
	}
}

// A recipient the server refuses does not stop the others.
func TestOneRefusedRecipientDoesNotStopTheOthers(t *testing.T) {
	s := startSMTP(t)
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
		before := len(s.messages)
		c := s.config()
		c.To = tt.to
		err := newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "firing", "critical"))
		if got := len(s.messages) - before; got != tt.delivered {
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
