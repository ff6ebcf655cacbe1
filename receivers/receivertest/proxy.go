package receivertest

import (
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Proxy is a forward proxy, as teams in China run to reach Slack: it tunnels CONNECT
// (what a client does for an https:// destination through proxy_url) and forwards plain
// http requests, and records the host of each.
type Proxy struct {
	srv *httptest.Server

	mu    sync.Mutex
	hosts []string
}

// NewProxy starts a proxy, closed when the test ends.
func NewProxy(t testing.TB) *Proxy {
	p := &Proxy{}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

// URL is the proxy's URL, for proxy_url.
func (p *Proxy) URL() string { return p.srv.URL }

// Hosts are the destinations the proxy was asked for, host:port, in order: CONNECT
// tunnels and forwarded requests alike.
func (p *Proxy) Hosts() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.hosts...)
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.hosts = append(p.hosts, r.Host)
	p.mu.Unlock()
	if r.Method != http.MethodConnect {
		p.forward(w, r)
		return
	}
	upstream, err := net.Dial("tcp", r.Host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	// Hijack first, then answer on the raw connection: the client's first bytes (its TLS
	// hello) may already sit in the server's buffer, which the tunnel must read from.
	client, buffered, err := http.NewResponseController(w).Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	if _, err := client.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		client.Close()
		upstream.Close()
		return
	}
	go func() {
		_, _ = io.Copy(upstream, buffered)
		upstream.Close()
	}()
	_, _ = io.Copy(client, upstream)
	client.Close()
}

// forward passes a plain http request (absolute-form, as clients send it to a proxy) on.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request) {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// CAFile writes the certificate of a TLS test server (httptest.NewTLSServer signs its own)
// to a PEM file, for a receiver's tls_config.ca_file: a private CA, as on-premises Feishu
// uses. Without it, the receiver must refuse the server.
func CAFile(t testing.TB, srv *httptest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(path, block, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Serve starts a platform fake over plain HTTP, closed when the test ends.
func Serve(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// ServeTLS starts a platform fake over HTTPS with a certificate of its own: a private CA
// (see CAFile), as on-premises Feishu has. Closed when the test ends.
func ServeTLS(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	// Clients that do not trust the certificate are what private-CA tests make: their
	// failed handshakes are no news.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}
