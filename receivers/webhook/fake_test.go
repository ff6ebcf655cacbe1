package webhook_test

import (
	"context"
	"errors"
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
	r := webhook.New(conf, nil)
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
