// Package amtest builds Alertmanager webhook payloads (version 4) as Alertmanager sends
// them, for tests and the load generator: one builder instead of JSON written by hand.
// It is encoded with the webhook receiver's Payload type, so what we post in tests is
// what we post to others.
package amtest

import (
	"encoding/json"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/receivers/webhook"
)

// Alert is one alert of a webhook.
type Alert struct {
	// Status is "firing" when empty.
	Status      string
	Labels      map[string]string
	Annotations map[string]string
	StartsAt    time.Time
	// EndsAt stays zero for a firing alert unless set, as Alertmanager sends it.
	EndsAt       time.Time
	GeneratorURL string
	// Fingerprint is sent as given; when empty the router computes Alertmanager's from
	// the labels, as it does for senders that leave it out.
	Fingerprint string
}

// Webhook is one webhook request's payload.
type Webhook struct {
	Receiver        string
	GroupKey        string
	GroupLabels     map[string]string
	ExternalURL     string
	TruncatedAlerts uint64
	Alerts          []Alert
}

// status is the status of a webhook with at least one firing alert, else resolved.
func (w Webhook) status() string {
	for _, a := range w.Alerts {
		if a.Status != "resolved" {
			return "firing"
		}
	}
	return "resolved"
}

// JSON encodes the webhook as Alertmanager would post it. Common labels and annotations
// are computed from the alerts.
func (w Webhook) JSON() []byte {
	alerts := make(template.Alerts, len(w.Alerts))
	for i, a := range w.Alerts {
		if a.Status == "" {
			a.Status = "firing"
		}
		if a.Labels == nil {
			a.Labels = map[string]string{}
		}
		if a.Annotations == nil {
			a.Annotations = map[string]string{}
		}
		alerts[i] = template.Alert{
			Status: a.Status, Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.StartsAt, EndsAt: a.EndsAt,
			GeneratorURL: a.GeneratorURL, Fingerprint: a.Fingerprint,
		}
	}
	groupLabels := template.KV(w.GroupLabels)
	if groupLabels == nil {
		groupLabels = template.KV{}
	}
	b, err := json.Marshal(webhook.Payload{
		Data:            receivers.NewData(w.Receiver, w.status(), alerts, groupLabels, w.ExternalURL),
		Version:         "4",
		GroupKey:        w.GroupKey,
		TruncatedAlerts: w.TruncatedAlerts,
	})
	if err != nil {
		panic("amtest: " + err.Error()) // maps of strings and times always encode
	}
	return b
}

// String is JSON as a string.
func (w Webhook) String() string { return string(w.JSON()) }
