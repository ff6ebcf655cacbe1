// Package smtptest is for tests only: a real SMTP server (go-smtp) on 127.0.0.1 with
// STARTTLS under a self-signed certificate and AUTH PLAIN, which records the messages it
// accepts and answers what the test scripts.
package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// The only credentials the server accepts.
const (
	// Username is the AUTH PLAIN user the server accepts.
	Username = "alertrouter@example.com"
	// Password is Username's password.
	Password = "smtp-s3cr3t"
)

// Recipients whose local part starts with these are refused at RCPT TO.
const (
	// RejectedPrefix recipients are refused for good: 550 5.1.1 No such user.
	RejectedPrefix = "left-the-company@"
	// GreylistedPrefix recipients are refused for now: 451 4.7.1 Greylisted.
	GreylistedPrefix = "greylisted@"
)

// Message is one message the server accepted.
type Message struct {
	// From is the MAIL FROM address.
	From string
	// To holds the RCPT TO addresses the server accepted, in order.
	To []string
	// Data is the message as received after DATA: headers and body.
	Data []byte
}

// Server is a running SMTP server. Its methods are safe to call while it serves.
type Server struct {
	addr  string
	caPEM []byte

	mu       sync.Mutex
	fail     *smtp.SMTPError // answer to MAIL FROM when set
	refuse   int             // transactions still to refuse at MAIL FROM
	refused  int
	messages []Message
	authed   []string
	echo     bool // failed AUTH quotes the credentials it got
}

// Start starts a server on a free port of 127.0.0.1, stopped when the test ends.
// Clients must STARTTLS (trusting CAPEM, or the file CAFile writes) and AUTH PLAIN as
// Username before MAIL FROM.
func Start(t testing.TB) *Server {
	t.Helper()
	cert, caPEM := selfSigned(t)
	s := &Server{caPEM: caPEM}
	srv := smtp.NewServer(&backend{s: s})
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
	return s
}

// Addr is the server's host:port, for a receiver's smarthost.
func (s *Server) Addr() string { return s.addr }

// Host is the host of Addr: 127.0.0.1.
func (s *Server) Host() string {
	host, _, _ := net.SplitHostPort(s.addr)
	return host
}

// Port is the port of Addr.
func (s *Server) Port() int {
	_, port, _ := net.SplitHostPort(s.addr)
	n, _ := strconv.Atoi(port)
	return n
}

// CAFile writes the certificate to trust (CAPEM) to a new file in t's temporary
// directory and returns its path, for a receiver's ca_file.
func (s *Server) CAFile(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "smtptest-ca.pem")
	if err := os.WriteFile(path, s.caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// CAPEM is the PEM of the certificate to trust (self-signed, for 127.0.0.1 and localhost).
func (s *Server) CAPEM() []byte { return append([]byte(nil), s.caPEM...) }

// SetMailError answers every MAIL FROM with err from now on; nil accepts them again.
func (s *Server) SetMailError(err *smtp.SMTPError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

// EchoCredentials makes a failed AUTH quote the username and password it got, as a
// careless server does: the receiver's error must not carry them on.
func (s *Server) EchoCredentials() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.echo = true
}

// Refuse refuses the next n authenticated transactions at MAIL FROM with the temporary
// failure 451 4.3.0 try again later; 0 stops refusing.
func (s *Server) Refuse(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = n
}

// Refused is how many transactions the server has refused with Refuse so far.
func (s *Server) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// Messages returns a copy of the accepted messages, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		out[i] = Message{From: m.From, To: append([]string(nil), m.To...), Data: append([]byte(nil), m.Data...)}
	}
	return out
}

// Authed returns the users of every successful AUTH, in order.
func (s *Server) Authed() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.authed...)
}

type backend struct{ s *Server }

func (b *backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

// session is one connection; go-smtp calls it from one goroutine.
type session struct {
	s     *Server
	from  string
	rcpts []string
	auth  bool
}

func (se *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (se *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != Username || pass != Password {
			msg := "Authentication failed"
			se.s.mu.Lock()
			if se.s.echo {
				msg += " for " + user + ":" + pass
			}
			se.s.mu.Unlock()
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: msg}
		}
		se.auth = true
		se.s.mu.Lock()
		se.s.authed = append(se.s.authed, user)
		se.s.mu.Unlock()
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	se.s.mu.Lock()
	defer se.s.mu.Unlock()
	if se.s.fail != nil {
		return se.s.fail
	}
	if !se.auth {
		return &smtp.SMTPError{Code: 530, Message: "Authentication required"}
	}
	if se.s.refuse > 0 {
		se.s.refuse--
		se.s.refused++
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	switch {
	case strings.HasPrefix(to, RejectedPrefix):
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
	case strings.HasPrefix(to, GreylistedPrefix):
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
	se.s.messages = append(se.s.messages, Message{From: se.from, To: se.rcpts, Data: b})
	return nil
}

func (se *session) Reset()        { se.from, se.rcpts = "", nil }
func (se *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and localhost that is its own CA.
func selfSigned(t testing.TB) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test smtp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
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
