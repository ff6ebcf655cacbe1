package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/receivers/receivertest"
)

var _ receivers.Receiver = (*Receiver)(nil)

func message(n int) *receivers.Message {
	d := &template.Data{Receiver: "hook", Status: "firing", GroupLabels: template.KV{"hostgroup": "gpu-1"}}
	for range n {
		d.Alerts = append(d.Alerts, template.Alert{Status: "firing", Labels: template.KV{"alertname": "A"}, StartsAt: time.Unix(0, 0).UTC()})
	}
	return &receivers.Message{ID: 42, Receiver: "hook", Route: "routes[0]", Hostgroup: "gpu-1", Data: d}
}

func TestSend(t *testing.T) {
	var got Payload
	var hdr http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr = r.Header.Clone()
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &got); err != nil {
			t.Error(err)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	urlFile := filepath.Join(dir, "url")
	os.WriteFile(tokenFile, []byte("tok\n"), 0o600)
	os.WriteFile(urlFile, []byte(srv.URL+"/x\n"), 0o600)

	conf := &Config{URLFile: urlFile, BearerTokenFile: tokenFile, MaxAlerts: 2}
	if err := conf.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := New(conf, receivertest.Templates(t)).Send(context.Background(), message(5)); err != nil {
		t.Fatal(err)
	}
	if got.Version != "4" || len(got.Alerts) != 2 || got.TruncatedAlerts != 3 || got.GroupKey != `alertrouter/routes[0]:{hostgroup="gpu-1"}` {
		t.Fatalf("payload = %+v", got)
	}
	if hdr.Get("Authorization") != "Bearer tok" || hdr.Get("X-Alertrouter-Notification-Id") != "42" || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("headers = %v", hdr)
	}
}

func TestSendErrorsKeepSecretsOut(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "invalid_token", http.StatusForbidden)
	}))
	defer srv.Close()
	conf := &Config{URL: receivers.Secret(srv.URL + "/hook/s3cr3t"), BearerToken: "t0ken"}
	err := New(conf, receivertest.Templates(t)).Send(context.Background(), message(1))
	if err == nil || !receivers.IsPermanent(err) {
		t.Fatalf("403: %v, want permanent", err)
	}
	receivertest.NoSecrets(t, "403 error", err.Error(), string(conf.URL), "t0ken")

	conf.URL = "http://127.0.0.1:1/hook/s3cr3t"
	err = New(conf, receivertest.Templates(t)).Send(context.Background(), message(1))
	if err == nil || receivers.IsPermanent(err) {
		t.Fatalf("connection refused: %v, want retryable", err)
	}
	receivertest.NoSecrets(t, "connection error", err.Error(), string(conf.URL), "t0ken")
}

func TestSendMissingSecretFileIsRetryable(t *testing.T) {
	conf := &Config{URLFile: filepath.Join(t.TempDir(), "not-yet-mounted")}
	err := New(conf, receivertest.Templates(t)).Send(context.Background(), message(1))
	var fe *receivers.FieldError
	if err == nil || receivers.IsPermanent(err) || errors.As(err, &fe) {
		t.Fatalf("err = %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		conf  Config
		field string
	}{
		{Config{URL: "http://x"}, ""},
		{Config{URLFile: "/f"}, ""},
		{Config{}, "url"},
		{Config{URL: "http://x", URLFile: "/f"}, "url"},
		{Config{URL: "x"}, "url"},
		{Config{URL: "http://"}, "url"},
		{Config{URL: "http://x", BearerToken: "a", BearerTokenFile: "b"}, "bearer_token"},
		{Config{URL: "http://x", MaxAlerts: -1}, "max_alerts"},
		{Config{URL: "http://x", ContentType: "application/x-www-form-urlencoded", Body: "a=b"}, ""},
		{Config{URL: "http://x", ContentType: "text/plain; charset=utf-8"}, ""},
		{Config{URL: "http://x", ContentType: "not a type"}, "content_type"},
		{Config{URL: "http://x", ContentType: "text/plain\r\nX-Evil: 1"}, "content_type"},
		{Config{URL: "http://x", Headers: map[string]receivers.Secret{"X-Api-Key": "k", "Authorization": "Basic x", "x-trace_id.v2": "1"}}, ""},
		{Config{URL: "http://x", Headers: map[string]receivers.Secret{"X Foo": "1"}}, "headers.X Foo"},
		{Config{URL: "http://x", Headers: map[string]receivers.Secret{"X-Foo:": "1"}}, "headers.X-Foo:"},
		{Config{URL: "http://x", Headers: map[string]receivers.Secret{"X-F\u00f6o": "1"}}, "headers.X-F\u00f6o"},
		{Config{URL: "http://x", Headers: map[string]receivers.Secret{"": "1"}}, "headers."},
		{Config{URL: "http://x", Headers: map[string]receivers.Secret{"X-Foo\r\nX-Evil": "1"}}, "headers.X-Foo\r\nX-Evil"},
		{Config{URL: "http://x", Headers: map[string]receivers.Secret{"Host": "h"}}, "headers.Host"},
		{Config{URL: "http://x", Headers: map[string]receivers.Secret{"content-length": "1"}}, "headers.content-length"},
		{Config{URL: "http://x", Headers: map[string]receivers.Secret{"Content-Type": "text/plain"}}, "headers.Content-Type"},
		{Config{URL: "http://x", Headers: map[string]receivers.Secret{"content-type": "text/plain"}}, "headers.content-type"},
		{Config{URL: "http://x", Headers: map[string]receivers.Secret{"User-Agent": "me"}}, "headers.User-Agent"},
		{Config{URL: "http://x", Headers: map[string]receivers.Secret{"X-Alertrouter-Notification-Id": "1"}}, "headers.X-Alertrouter-Notification-Id"},
		{Config{URL: "http://x", BearerToken: "t", Headers: map[string]receivers.Secret{"Authorization": "Basic x"}}, "headers.Authorization"},
		{Config{URL: "http://x", BearerTokenFile: "/t", Headers: map[string]receivers.Secret{"authorization": "Basic x"}}, "headers.authorization"},
		{Config{URL: "http://x", Headers: map[string]receivers.Secret{"X-Foo": "1", "x-foo": "2"}}, "headers.x-foo"},
	}
	for _, tt := range tests {
		if err := tt.conf.Validate(); !receivertest.IsFieldError(err, tt.field) {
			t.Errorf("%+v: %v, want a problem with %q", tt.conf, err, tt.field)
		}
	}
}

// A redirect is not followed: Go would re-send the POST as a bodiless GET (a "success"
// that delivered nothing) and put the secret URL in the Referer of the next request.
func TestRedirectIsAPermanentErrorAndLeaksNothing(t *testing.T) {
	var referers []string
	final := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		referers = append(referers, r.Header.Get("Referer"))
	}))
	defer final.Close()
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, final.URL+"/moved", http.StatusMovedPermanently)
	}))
	defer first.Close()
	err := New(&Config{URL: receivers.Secret(first.URL + "/hook/s3cr3t")}, receivertest.Templates(t)).Send(context.Background(), message(1))
	if err == nil || !receivers.IsPermanent(err) || !strings.Contains(err.Error(), "redirects are not followed") {
		t.Fatalf("err = %v, want a permanent redirect error", err)
	}
	if len(referers) != 0 {
		t.Fatalf("redirect followed (referers %q)", referers)
	}
	receivertest.NoSecrets(t, "redirect error", err.Error(), first.URL+"/hook/s3cr3t")
}
