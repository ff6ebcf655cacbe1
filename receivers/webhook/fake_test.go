package webhook_test

import (
	"context"
	"errors"
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
