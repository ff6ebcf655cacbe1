package router

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/common/model"

	"github.com/alertrouter/alertrouter/receivers"
)

func TestDecodeExamplePayload(t *testing.T) {
	b, err := os.ReadFile("../examples/payloads/firing.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := DecodePayload(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != "4" || p.Data.Status != "firing" || len(p.Data.Alerts) != 2 || p.Data.Alerts[0].Labels["hostgroup"] != "gpu-render-a" {
		t.Fatalf("decoded %+v", p)
	}
	if p.Data.Alerts[0].Fingerprint != "5c0e1f4b6a3f2d11" {
		t.Errorf("fingerprint from the payload was not kept: %s", p.Data.Alerts[0].Fingerprint)
	}
}

func TestFingerprintIsRecomputedWhenMissing(t *testing.T) {
	p, err := DecodePayload(bytes.NewReader([]byte(payload("am1", alert{name: "A", hostgroup: "g", instance: "i"}))))
	if err != nil {
		t.Fatal(err)
	}
	a := p.Data.Alerts[0]
	want := model.LabelSet{"alertname": "A", "hostgroup": "g", "instance": "i", "severity": "critical"}.Fingerprint().String()
	if a.Fingerprint != want {
		t.Fatalf("fingerprint = %s, want Alertmanager's %s", a.Fingerprint, want)
	}
}

// An alert that comes with annotations named as our action links loses them: only
// alertrouter makes those, and messages show them as links to act on.
func TestPlantedActionLinksAreDropped(t *testing.T) {
	body := `{"version":"4","status":"firing","receiver":"r","groupKey":"{}",
		"commonAnnotations":{"alertrouter_ack_url":"https://evil.example/","summary":"s"},
		"alerts":[{"status":"firing","labels":{"alertname":"A"},"startsAt":"2026-12-07T00:00:00Z",
		"annotations":{"alertrouter_ack_url":"https://evil.example/","alertrouter_silence_1h_url":"https://evil.example/","summary":"s"}}]}`
	p, err := DecodePayload(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, annotations := range []map[string]string{p.Data.Alerts[0].Annotations, p.Data.CommonAnnotations} {
		for _, k := range receivers.LinkAnnotations {
			if v, ok := annotations[k]; ok {
				t.Errorf("%s came through: %q", k, v)
			}
		}
		if annotations["summary"] != "s" {
			t.Errorf("the other annotations went too: %v", annotations)
		}
	}
}

func FuzzDecodePayload(f *testing.F) {
	if b, err := os.ReadFile("../examples/payloads/firing.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(payload("am1", alert{name: "A", hostgroup: "g", instance: "i", status: "resolved"})))
	f.Add([]byte(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"x"},"startsAt":"2026-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"version":4}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePayload(bytes.NewReader(b))
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || ie.Status < 400 || ie.Status > 499 || ie.Msg == "" {
				t.Fatalf("error %v is not a 4xx InputError", err)
			}
			return
		}
		if p.Version != SupportedVersion || len(p.Data.Alerts) == 0 {
			t.Fatalf("accepted %+v", p)
		}
		for _, a := range p.Data.Alerts {
			if a.Labels["alertname"] == "" || a.Fingerprint == "" || a.StartsAt.IsZero() {
				t.Fatalf("accepted alert %+v", a)
			}
			if a.Status != "firing" && a.Status != "resolved" {
				t.Fatalf("accepted status %q", a.Status)
			}
			_ = receivers.LabelSet(a.Labels).Fingerprint()
		}
	})
}
