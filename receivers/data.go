package receivers

import (
	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"
)

// NewData is the template data of a notification in Alertmanager's shape: CommonLabels
// and CommonAnnotations are the pairs that every alert has, as Alertmanager computes them.
func NewData(receiver, status string, alerts template.Alerts, groupLabels template.KV, externalURL string) *Data {
	return &Data{
		Receiver:          receiver,
		Status:            status,
		Alerts:            alerts,
		GroupLabels:       groupLabels,
		CommonLabels:      commonKV(alerts, func(a *template.Alert) template.KV { return a.Labels }),
		CommonAnnotations: commonKV(alerts, func(a *template.Alert) template.KV { return a.Annotations }),
		ExternalURL:       externalURL,
	}
}

func commonKV(alerts template.Alerts, kv func(*template.Alert) template.KV) template.KV {
	common := template.KV{}
	if len(alerts) == 0 {
		return common
	}
	for k, v := range kv(&alerts[0]) {
		common[k] = v
	}
	for i := 1; i < len(alerts); i++ {
		other := kv(&alerts[i])
		for k, v := range common {
			if ov, ok := other[k]; !ok || ov != v {
				delete(common, k)
			}
		}
	}
	return common
}

// Urgency is how a message should look at a glance: resolved, or the most severe
// severity label of its firing alerts (critical, then warning; anything else is info).
type Urgency int

// The urgencies, from calmest to most severe.
const (
	Resolved Urgency = iota
	Info
	Warning
	Critical
)

// UrgencyOf is the urgency of d: Resolved when it is resolved.
func UrgencyOf(d *Data) Urgency {
	if d.Status == string(model.AlertResolved) {
		return Resolved
	}
	u := Info
	for _, a := range d.Alerts.Firing() {
		switch a.Labels["severity"] {
		case "critical":
			return Critical
		case "warning":
			u = Warning
		}
	}
	return u
}
