package dispatch

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/receivers"
)

// SendTest sends a sample notification with the given status straight to one receiver,
// outside the outbox: the first thing to do after writing a receiver's config. The error
// is the receiver's own, classified as for the dispatcher.
func SendTest(ctx context.Context, cfg *config.Config, receiver, status string, stdout io.Writer) error {
	rc, ok := cfg.Receiver(receiver)
	if !ok {
		return fmt.Errorf("no receiver named %q in the config", receiver)
	}
	if status != string(model.AlertFiring) && status != string(model.AlertResolved) {
		return fmt.Errorf("status %q: want firing or resolved", status)
	}
	if stdout == nil {
		stdout = os.Stdout
	}
	r := rc.Build(cfg, stdout)
	now := time.Now()
	hostgroup := "alertrouter-send-test"
	a := template.Alert{
		Status: status,
		Labels: template.KV{"alertname": "AlertrouterSendTest", cfg.Global.HostgroupLabel: hostgroup,
			"instance": "alertrouter", "severity": "warning"},
		Annotations: template.KV{"summary": "Test notification from alertrouter send-test",
			"description": "If you can read this, receiver " + receiver + " works."},
		StartsAt:     now.Add(-time.Minute),
		GeneratorURL: "http://alertrouter/send-test",
	}
	if status == string(model.AlertResolved) {
		a.EndsAt = now
	}
	a.Fingerprint = receivers.LabelSet(a.Labels).Fingerprint().String()
	groupLabels := template.KV{cfg.Global.HostgroupLabel: hostgroup}
	data := receivers.NewData(receiver, status, template.Alerts{a}, groupLabels, "")
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	return r.Send(ctx, &receivers.Message{Receiver: receiver, Route: "send-test", Hostgroup: hostgroup, Data: data})
}
