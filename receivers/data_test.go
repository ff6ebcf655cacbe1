package receivers

import (
	"reflect"
	"testing"

	"github.com/prometheus/alertmanager/template"
)

func TestNewDataComputesCommonPairs(t *testing.T) {
	alerts := template.Alerts{
		{Labels: template.KV{"alertname": "A", "hostgroup": "gpu", "instance": "1"}, Annotations: template.KV{"runbook": "r", "summary": "one"}},
		{Labels: template.KV{"alertname": "B", "hostgroup": "gpu", "instance": "2"}, Annotations: template.KV{"runbook": "r", "summary": "two"}},
	}
	d := NewData("ops", "firing", alerts, template.KV{"hostgroup": "gpu"}, "http://am:9093")
	if !reflect.DeepEqual(d.CommonLabels, template.KV{"hostgroup": "gpu"}) || !reflect.DeepEqual(d.CommonAnnotations, template.KV{"runbook": "r"}) {
		t.Fatalf("common labels %v, annotations %v", d.CommonLabels, d.CommonAnnotations)
	}
	if d.Receiver != "ops" || d.Status != "firing" || d.ExternalURL != "http://am:9093" || d.GroupLabels["hostgroup"] != "gpu" {
		t.Fatalf("data = %+v", d)
	}
	one := NewData("ops", "firing", alerts[:1], template.KV{}, "")
	if !reflect.DeepEqual(one.CommonLabels, alerts[0].Labels) {
		t.Fatalf("one alert: common labels %v, want all of its labels", one.CommonLabels)
	}
}
