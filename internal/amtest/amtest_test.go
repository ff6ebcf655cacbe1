package amtest

import (
	"encoding/json"
	"testing"
	"time"
)

func TestWebhookJSONIsAlertmanagersShape(t *testing.T) {
	start := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	w := Webhook{Receiver: "alertrouter", GroupKey: "g", ExternalURL: "http://am:9093", Alerts: []Alert{
		{Labels: map[string]string{"alertname": "A", "hostgroup": "gpu"}, StartsAt: start},
		{Status: "resolved", Labels: map[string]string{"alertname": "B", "hostgroup": "gpu"}, StartsAt: start, EndsAt: start.Add(time.Hour)},
	}}
	var got map[string]any
	if err := json.Unmarshal(w.JSON(), &got); err != nil {
		t.Fatal(err)
	}
	alerts := got["alerts"].([]any)
	first := alerts[0].(map[string]any)
	if got["version"] != "4" || got["status"] != "firing" || got["groupKey"] != "g" || got["receiver"] != "alertrouter" ||
		got["commonLabels"].(map[string]any)["hostgroup"] != "gpu" || len(alerts) != 2 ||
		first["status"] != "firing" || first["endsAt"] != "0001-01-01T00:00:00Z" || first["startsAt"] != "2026-11-21T08:00:00Z" {
		t.Fatalf("webhook JSON = %v", got)
	}
	resolved := Webhook{Alerts: w.Alerts[1:]}
	if err := json.Unmarshal(resolved.JSON(), &got); err != nil || got["status"] != "resolved" {
		t.Fatalf("all resolved: status %v, %v", got["status"], err)
	}
}
