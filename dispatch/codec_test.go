package dispatch

import (
	"encoding/json"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/alertrouter/alertrouter/receivers/receivertest"
)

// codecBatch has what a batch can hold: times in UTC, in a zone of their own and zero
// (endsAt of a firing alert), text in any script, and empty label sets.
func codecBatch() *Batch {
	b := &Batch{GroupLabels: template.KV{"hostgroup": "gpu-render-a"}, ExternalURL: "http://am:9093/#/alerts?receiver=x&y=1"}
	b.Alerts = receivertest.Message(3, "firing", "critical").Data.Alerts
	shanghai := time.FixedZone("", 8*3600)
	b.Alerts[0].StartsAt = time.Date(2026, 12, 7, 9, 30, 1, 123456789, shanghai)
	b.Alerts[1].Annotations = template.KV{"summary": "显卡 0 温度 87°C", "empty": ""}
	b.Alerts[1].EndsAt = time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	b.Alerts[1].Status = "resolved"
	b.Alerts[2].Annotations = template.KV{}
	b.Alerts[2].StartsAt = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC) // as far as senders go
	return b
}

// viaJSON is b as the JSON form reads it back: what the binary form must give too.
func viaJSON(t *testing.T, b *Batch) *Batch {
	t.Helper()
	raw, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	back, err := unmarshalBatch(raw)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// The binary form reads back what the JSON form would: the same alerts, labels, times and
// zones, so that a template renders alike whichever wrote the batch.
func TestBinaryFormReadsBackAsJSONWould(t *testing.T) {
	b := codecBatch()
	got, err := unmarshalBatch(marshalBatch(b))
	if err != nil {
		t.Fatal(err)
	}
	want := viaJSON(t, b)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("binary form read back\n %+v\nJSON form\n %+v", got, want)
	}
	for i, a := range got.Alerts {
		for _, pair := range [][2]time.Time{{a.StartsAt, want.Alerts[i].StartsAt}, {a.EndsAt, want.Alerts[i].EndsAt}} {
			if g, w := pair[0].Format(time.RFC3339Nano+" MST"), pair[1].Format(time.RFC3339Nano+" MST"); g != w {
				t.Errorf("alert %d: time %s, JSON gives %s", i, g, w)
			}
		}
	}
}

func TestBinaryFormRefusesDamage(t *testing.T) {
	raw := marshalBatch(codecBatch())
	for _, c := range []struct {
		name string
		raw  []byte
		want string
	}{
		{"empty", nil, "truncated"},
		{"unknown format", append([]byte{9}, raw[1:]...), "unknown batch format 9"},
		{"cut short", raw[:len(raw)-3], "truncated"},
		{"trailing bytes", append(append([]byte{}, raw...), 0), "trailing bytes"},
		{"a count past the end", []byte{batchFormat, 0xff, 0xff, 0x03}, "truncated"},
	} {
		if _, err := unmarshalBatch(c.raw); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}

// A damaged batch is an error, never a panic or an allocation without bound; a batch
// that reads back reads back the same after another round.
func FuzzUnmarshalBatch(f *testing.F) {
	f.Add(marshalBatch(codecBatch()))
	f.Add(marshalBatch(&Batch{}))
	f.Add([]byte(`{"alerts":[{"labels":{"a":"b"}}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := unmarshalBatch(raw)
		if err != nil {
			return
		}
		again, err := unmarshalBatch(marshalBatch(b))
		if err != nil {
			t.Fatalf("a batch read back does not read again: %v", err)
		}
		if len(again.Alerts) != len(b.Alerts) || again.ExternalURL != b.ExternalURL || !maps.Equal(again.GroupLabels, b.GroupLabels) {
			t.Fatalf("second round differs: %+v vs %+v", again, b)
		}
	})
}
