package main

import (
	"bytes"
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
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/alertrouter/alertrouter/internal/testenv"
)

// hash-password prints a bcrypt hash that accepts the password it read, at the cost asked.
func TestHashPassword(t *testing.T) {
	for _, c := range []struct {
		input, want string
		cost, code  int
	}{
		{"s3cret pw\n", "", 10, 0},
		{"short-cost", "", 4, 0},
		{"\n", "empty password", 10, 1},
		{strings.Repeat("x", 73), "at most 72 bytes", 10, 1},
		{"pw", "--cost must be", 3, 2},
	} {
		var out, errOut bytes.Buffer
		cost := c.cost
		code := (&hashPasswordCmd{cost: &cost}).run(strings.NewReader(c.input), &out, &errOut)
		if code != c.code || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d, %q", c.input, code, errOut.String(), c.code, c.want)
			continue
		}
		if code != 0 {
			continue
		}
		hash := strings.TrimSpace(out.String())
		password := strings.TrimRight(c.input, "\n")
		if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)); err != nil {
			t.Errorf("%q: the hash does not accept the password: %v", c.input, err)
		}
		if got, _ := bcrypt.Cost([]byte(hash)); got != c.cost {
			t.Errorf("%q: cost %d, want %d", c.input, got, c.cost)
		}
		if strings.Contains(out.String()+errOut.String(), password) {
			t.Errorf("%q: the password was printed", c.input)
		}
	}
}

// selfSigned writes a certificate and key for 127.0.0.1 in dir, and returns a pool that
// trusts it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "alertrouter test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// --web.config.file is Prometheus's web.config: TLS and response headers here, as
// exporter-toolkit reads them; a broken one stops the start with its problem.
func TestWebConfigFileServesTLS(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	webConfig := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(webConfig, []byte(`tls_server_config:
  cert_file: `+certFile+`
  key_file: `+keyFile+`
http_server_config:
  headers:
    X-Frame-Options: deny
`), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := testenv.FreeAddr(t)
	p := testenv.Start(t, dir, bin, "serve", "--web.listen-address="+addr, "--storage.path="+filepath.Join(dir, "data"), "--web.config.file="+webConfig)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	var resp *http.Response
	testenv.Eventually(t, 30*time.Second, "alertrouter over TLS", func() bool {
		var err error
		resp, err = client.Get("https://" + addr + "/-/healthy")
		return err == nil
	})
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil || resp.Header.Get("X-Frame-Options") != "deny" {
		t.Fatalf("over TLS: %d, TLS %v, headers %v", resp.StatusCode, resp.TLS != nil, resp.Header)
	}
	if plain, err := http.Get("http://" + addr + "/-/healthy"); err == nil {
		plain.Body.Close()
		if plain.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP answered 200 with TLS configured")
		}
	}
	if code := p.Stop(t); code != 0 {
		t.Errorf("exit code %d", code)
	}

	if err := os.WriteFile(webConfig, []byte("tls_server_config:\n  cert_file: /nonexistent/cert.pem\n  key_file: "+keyFile+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run([]string{"serve", "--web.listen-address=" + testenv.FreeAddr(t), "--storage.path=" + filepath.Join(dir, "data2"), "--web.config.file=" + webConfig}, &out, &errOut)
	if code == 0 || !strings.Contains(errOut.String(), "web.config.file") || !strings.Contains(errOut.String(), "/nonexistent/cert.pem") {
		t.Fatalf("a broken web config: exit %d\n%s", code, errOut.String())
	}
}
