package router

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/alertrouter/alertrouter/store"
)

// plainSMTP accepts mail for everyone but left-the-company@.
type plainSMTP struct {
	mu        sync.Mutex
	delivered int
}

func (b *plainSMTP) NewSession(*smtp.Conn) (smtp.Session, error) { return &plainSession{b: b}, nil }

type plainSession struct{ b *plainSMTP }

func (s *plainSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *plainSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasPrefix(to, "left-the-company@") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
	}
	return nil
}
func (s *plainSession) Data(r io.Reader) error {
	_, _ = io.Copy(io.Discard, r)
	s.b.mu.Lock()
	s.b.delivered++
	s.b.mu.Unlock()
	return nil
}
func (s *plainSession) Reset()        {}
func (s *plainSession) Logout() error { return nil }

// An email that reached some recipients is sent, and the refused one stays visible.
func TestPartialDeliveryIsSentAndVisible(t *testing.T) {
	be := &plainSMTP{}
	srv := smtp.NewServer(be)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	e := newEnv(t, `
receivers:
  - name: mail
    email:
      to: [oncall@example.com, left-the-company@example.com]
      from: alertrouter@example.com
      smarthost: `+ln.Addr().String()+`
      tls: none
default_receivers: [mail]
`, "", true)
	e.mustPost(payload("am1", alert{name: "A", hostgroup: "gpu-1", instance: "i1"}))
	eventually(t, "the partial delivery", func() bool {
		return len(e.list(store.Sent)) == 1 && e.counter("alertrouter_notifications_failed_total", "reason", "partial") == 1
	})
	n := e.list(store.Sent)[0]
	if !strings.Contains(n.LastError, "left-the-company@example.com") || be.delivered != 1 {
		t.Fatalf("sent row %+v, delivered %d", n, be.delivered)
	}
	if !strings.Contains(e.logs.String(), "Notification sent, but not to every destination") {
		t.Fatalf("partial delivery not logged:\n%s", e.logs.String())
	}
}
