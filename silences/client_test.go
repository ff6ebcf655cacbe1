package silences

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/silences/silencestest"
)

func spec(t *testing.T) Spec {
	t.Helper()
	ms, err := labels.ParseMatchers(`{hostgroup="gpu-1"}`)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	return Spec{Matchers: ms, StartsAt: now, EndsAt: now.Add(time.Hour), CreatedBy: "alice", Comment: "driver"}
}

// A silence is created with the token read from its file, then read and expired; an id
// the Alertmanager does not know is ErrNotFound to read and no error to expire.
func TestClientAgainstTheFake(t *testing.T) {
	f := silencestest.New(t, "am-token")
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("am-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(config.Alertmanager{Name: "am", URL: f.URL(), Credentials: config.Credentials{BearerTokenFile: file}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Put(t.Context(), "", spec(t))
	if err != nil || len(f.Active()) != 1 {
		t.Fatalf("put: %q %v, %d active", id, err, len(f.Active()))
	}
	if state, err := c.State(t.Context(), id); err != nil || state != "active" {
		t.Fatalf("state: %q %v", state, err)
	}
	if err := c.Expire(t.Context(), id); err != nil || len(f.Active()) != 0 {
		t.Fatalf("expire: %v, %d active", err, len(f.Active()))
	}
	if _, err := c.State(t.Context(), "no-such-id"); err != ErrNotFound {
		t.Errorf("state of an unknown id: %v, want ErrNotFound", err)
	}
	if err := c.Expire(t.Context(), "no-such-id"); err != nil {
		t.Errorf("expiring an unknown id: %v", err)
	}
	wrong, _ := NewClient(config.Alertmanager{Name: "am", URL: f.URL(), Credentials: config.Credentials{BearerToken: "wrong"}})
	if _, err := wrong.Put(t.Context(), "", spec(t)); err == nil {
		t.Error("a wrong token was accepted")
	}
}

// Errors say what is wrong, and never the credentials, even when the answer echoes them;
// a URL without the Alertmanager's API says to check the route prefix.
func TestClientErrors(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/prefix/") {
			http.NotFound(w, r)
			return
		}
		user, password, _ := r.BasicAuth()
		http.Error(w, fmt.Sprintf("bad gateway: your request had Authorization: %s (%s:%s)", r.Header.Get("Authorization"), user, password), http.StatusBadGateway)
	}))
	t.Cleanup(echo.Close)
	for _, cred := range []config.Credentials{
		{BearerToken: "s3cr3t-token"},
		{BasicAuth: &config.BasicAuth{Username: "u", Password: "s3cr3t-password"}},
	} {
		c, err := NewClient(config.Alertmanager{Name: "am", URL: echo.URL, Credentials: cred})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Put(t.Context(), "", spec(t))
		basic := base64.StdEncoding.EncodeToString([]byte("u:s3cr3t-password"))
		if err == nil || !strings.Contains(err.Error(), "502") || strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), basic) {
			t.Errorf("an answer that echoes the credentials: %v", err)
		}
	}
	c, _ := NewClient(config.Alertmanager{Name: "am", URL: echo.URL + "/prefix"})
	if _, err := c.Put(t.Context(), "", spec(t)); err == nil || !strings.Contains(err.Error(), "--web.route-prefix") {
		t.Errorf("no API at the URL: %v", err)
	}
}
