package webhook_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/receivers/receivertest"
	"github.com/alertrouter/alertrouter/receivers/webhook"
	"github.com/alertrouter/alertrouter/receivers/webhook/webhooktest"
)

// The receiver against the shared fake: a rate limit is Throttled with the wait asked
// for, a 503 is retried, and what is accepted is recorded as Alertmanager's payload.
func TestSendToTheFake(t *testing.T) {
	fake := webhooktest.New(t)
	conf := &webhook.Config{URL: receivers.Secret(fake.URL() + "/hook")}
	if err := conf.Validate(); err != nil {
		t.Fatal(err)
	}
	r := webhook.New(conf, receivertest.Templates(t))
	fake.Throttle(1, 7)
	var throttled *receivers.ThrottledError
	if err := r.Send(context.Background(), receivertest.Message(2, "firing", "warning")); !errors.As(err, &throttled) || throttled.RetryAfter != 7*time.Second {
		t.Fatalf("throttled send: %v", err)
	}
	fake.Script(webhooktest.Status(503))
	if err := r.Send(context.Background(), receivertest.Message(2, "firing", "warning")); err == nil || receivers.IsPermanent(err) {
		t.Fatalf("503: %v, want a retryable error", err)
	}
	if err := r.Send(context.Background(), receivertest.Message(2, "firing", "warning")); err != nil {
		t.Fatal(err)
	}
	reqs := fake.Requests()
	if len(reqs) != 1 || reqs[0].Path != "/hook" || reqs[0].Payload.Version != "4" || len(reqs[0].Payload.Alerts) != 2 ||
		fake.Alerts() != 2 || fake.AlertCounts("alertname")["firing GPUTemperatureHigh"] != 2 || fake.Throttled() != 1 {
		t.Fatalf("recorded %+v, alerts %d, counts %v", reqs, fake.Alerts(), fake.AlertCounts("alertname"))
	}
}

// A destination whose error page quotes the request (Express: "Cannot POST /hook/<token>
// ?token=<token>"): no part of the URL's tokens, nor the bearer token, survives into the
// error that the store, the logs and send-test show.
func TestEchoedRequestsLeakNoSecret(t *testing.T) {
	echo := receivertest.Echo(t)
	hook := echo.URL + "/hook/p4thT0kenp4thT0ken?token=qu3ryT0ken"
	conf := &webhook.Config{URL: receivers.Secret(hook), BearerToken: "b3arerT0ken"}
	if err := conf.Validate(); err != nil {
		t.Fatal(err)
	}
	err := webhook.New(conf, receivertest.Templates(t)).Send(context.Background(), receivertest.Message(1, "firing", "warning"))
	if err == nil || !receivers.IsPermanent(err) || !strings.Contains(err.Error(), "Cannot POST") {
		t.Fatalf("echoed 404: %v, want a permanent error quoting the page", err)
	}
	receivertest.NoSecrets(t, "error", err.Error(), hook, "p4thT0ken", "qu3ryT0ken", "b3arerT0ken")
}

// A password in the URL goes as basic auth, which the echo quotes in base64: neither form
// survives into the error.
func TestEchoedURLPasswordLeaksNoSecret(t *testing.T) {
	echo := receivertest.Echo(t)
	hook := strings.Replace(echo.URL, "http://", "http://alert:S3cretPassw0rd@", 1) + "/hook"
	conf := &webhook.Config{URL: receivers.Secret(hook)}
	if err := conf.Validate(); err != nil {
		t.Fatal(err)
	}
	err := webhook.New(conf, receivertest.Templates(t)).Send(context.Background(), receivertest.Message(1, "firing", "warning"))
	if err == nil || !strings.Contains(err.Error(), "Authorization: Basic") {
		t.Fatalf("echoed 404: %v, want an error quoting the request's basic auth", err)
	}
	receivertest.NoSecrets(t, "error", err.Error(), "S3cretPassw0rd", base64.StdEncoding.EncodeToString([]byte("alert:S3cretPassw0rd")))
}

// An error quotes only the start of an answer: a token that the cut splits is hidden too,
// not left with its first characters.
func TestEchoCutInATokenLeaksNoPart(t *testing.T) {
	const token = "tok0123456789abcdef0123456789"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "<html>"+strings.Repeat("x", 217)+" Cannot POST "+r.URL.RequestURI()+"</html>")
	}))
	t.Cleanup(srv.Close)
	conf := &webhook.Config{URL: receivers.Secret(srv.URL + "/hooks/" + token)}
	if err := conf.Validate(); err != nil {
		t.Fatal(err)
	}
	err := webhook.New(conf, receivertest.Templates(t)).Send(context.Background(), receivertest.Message(1, "firing", "warning"))
	if err == nil || !strings.Contains(err.Error(), "Cannot POST") {
		t.Fatalf("404: %v, want an error quoting the page", err)
	}
	receivertest.NoSecrets(t, "error", err.Error(), token[:10])
}
