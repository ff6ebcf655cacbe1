package watchdog

import (
	"github.com/alertrouter/alertrouter/dispatch"
	"github.com/alertrouter/alertrouter/receivers"
	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"
)

// Route and host group of watchdog notifications, in the API and history.
const (
	Route     = "watchdog"
	Hostgroup = "watchdog"
)

// alertname is the alert an event is about; a problem and its recovery share it, so
// receivers pair them like any firing and resolved alert.
func (e Event) alertname() string {
	switch e.Kind {
	case EventDown, EventRecovered:
		return kindTitle(e.TargetKind) + "Down"
	case EventRestarted:
		return kindTitle(e.TargetKind) + "Restarted"
	case EventCrashLoop, EventCrashLoopOver:
		return kindTitle(e.TargetKind) + "CrashLooping"
	case EventReloadFailed, EventReloadRecovered:
		return "PrometheusConfigReloadFailed"
	case EventNoAlertmanager, EventAlertmanagerFound:
		return "PrometheusNoAlertmanager"
	default:
		return "AlertPipelineBroken"
	}
}

// notification renders the event as one alert in Alertmanager's shape, so every
// receiver and template handles it like any other; severity is the event's level,
// which aliyun_cms turns into its event name.
func (e Event) notification(receiver string) dispatch.Notification {
	status := string(model.AlertFiring)
	if e.Resolved {
		status = string(model.AlertResolved)
	}
	labels := template.KV{
		"alertname": e.alertname(),
		"severity":  e.Level,
		"event":     e.Kind,
		"target":    e.Target,
		"source":    "alertrouter-watchdog",
	}
	ls := model.LabelSet{}
	for k, v := range labels {
		if k != "severity" && k != "event" { // a problem and its recovery are one alert
			ls[model.LabelName(k)] = model.LabelValue(v)
		}
	}
	alert := template.Alert{
		Status:       status,
		Labels:       labels,
		Annotations:  template.KV{"summary": e.Summary, "description": e.Description},
		StartsAt:     e.Since,
		GeneratorURL: e.URL,
		Fingerprint:  ls.Fingerprint().String(),
	}
	if e.Resolved {
		alert.EndsAt = e.At
	}
	return dispatch.Notification{
		Receiver: receiver, Route: Route, Hostgroup: Hostgroup,
		Data: receivers.NewData(receiver, status, template.Alerts{alert}, template.KV{"alertname": alert.Labels["alertname"]}, e.URL),
	}
}
