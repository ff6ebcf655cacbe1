package dispatch

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/receivers/receivertest"
	"github.com/alertrouter/alertrouter/store"
)

var now = time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// What Enqueue writes, Decode reads back: the message a receiver gets is the data that
// was enqueued, and the row's listing columns agree with it.
func TestEnqueueAndDecodeRoundTrip(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	m := receivertest.Message(3, "firing", "critical")
	m.Data.Alerts[1].Labels["alertname"] = "GPUMemoryNearlyFull"
	n := Notification{Receiver: "ops", Route: "routes[2]", Hostgroup: "gpu-render-a", Data: m.Data}
	var id int64
	if err := st.Update(ctx, func(tx *store.Tx) error {
		var err error
		id, err = Enqueue(tx, n, now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	due, err := st.Due(ctx, "ops", now, 10)
	if err != nil || len(due) != 1 {
		t.Fatalf("due = %v, %v", due, err)
	}
	row := due[0]
	if row.ID != id || row.Status != "firing" || row.AlertCount != 3 || !slices.Equal(row.AlertNames, []string{"GPUMemoryNearlyFull", "GPUTemperatureHigh"}) {
		t.Fatalf("row = %+v", row)
	}
	msg, err := Decode(&row)
	if err != nil {
		t.Fatal(err)
	}
	if msg.ID != id || msg.Receiver != "ops" || msg.Route != "routes[2]" || msg.Hostgroup != "gpu-render-a" {
		t.Fatalf("message = %+v", msg)
	}
	// As every enqueuer builds it: for the notification's receiver (receivers.NewData).
	want := receivers.NewData("ops", "firing", m.Data.Alerts, m.Data.GroupLabels, m.Data.ExternalURL)
	if !reflect.DeepEqual(msg.Data, want) {
		t.Fatalf("decoded data differs:\n got %+v\nwant %+v", msg.Data, want)
	}
	if len(row.Batch) >= len(mustJSON(t, m.Data.Alerts)) {
		t.Fatalf("stored batch is %d bytes, no smaller than its alerts' JSON", len(row.Batch))
	}
}

// Notifications of one transaction share a batch: each decodes to the alerts it carries,
// in its order, with common labels of its own.
func TestSharedBatchDecodesToEachNotificationsAlerts(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	alerts := receivertest.Message(3, "firing", "critical").Data.Alerts
	alerts[2].Labels["severity"] = "warning"
	b := &Batch{GroupLabels: template.KV{"hostgroup": "gpu-render-a"}, ExternalURL: "http://am:9093", Alerts: alerts}
	body, err := EncodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	e := store.Enqueued{Batches: [][]byte{body}, Notifications: []store.NewNotification{
		{Receiver: "all", Route: "r", Hostgroup: "gpu-render-a", Status: "firing", AlertCount: 3},
		{Receiver: "some", Route: "r", Hostgroup: "gpu-render-a", Status: "firing", AlertCount: 2, Alerts: []int{2, 0}},
	}}
	if err := st.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.EnqueueAll(e, now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		receiver string
		want     template.Alerts
	}{
		{"all", alerts},
		{"some", template.Alerts{alerts[2], alerts[0]}},
	} {
		due, err := st.Due(ctx, c.receiver, now, 10)
		if err != nil || len(due) != 1 {
			t.Fatalf("%s: due = %v, %v", c.receiver, due, err)
		}
		msg, err := Decode(&due[0])
		if err != nil {
			t.Fatal(err)
		}
		want := receivers.NewData(c.receiver, "firing", c.want, b.GroupLabels, b.ExternalURL)
		if !reflect.DeepEqual(msg.Data, want) {
			t.Fatalf("%s: decoded\n %+v\nwant\n %+v", c.receiver, msg.Data, want)
		}
	}
}

// Earlier versions stored each notification's template data as plain JSON; migration 6
// moved those payloads into batches as they were, and they still decode.
func TestDecodeReadsPayloadsOfEarlierVersions(t *testing.T) {
	m := receivertest.Message(2, "resolved", "warning")
	m.Data.GroupLabels = template.KV{"hostgroup": "pay"}
	legacy := store.Notification{ID: 7, Receiver: m.Data.Receiver, Route: "routes[0]", Hostgroup: "pay", Status: "resolved", Batch: mustJSON(t, m.Data)}
	msg, err := Decode(&legacy)
	if err != nil {
		t.Fatal(err)
	}
	want := receivers.NewData(m.Data.Receiver, "resolved", m.Data.Alerts, m.Data.GroupLabels, m.Data.ExternalURL)
	if !reflect.DeepEqual(msg.Data, want) {
		t.Fatalf("decoded\n %+v\nwant\n %+v", msg.Data, want)
	}
}

func TestDecodeRefusesDamagedBatches(t *testing.T) {
	body, err := EncodeBatch(&Batch{Alerts: receivertest.Message(2, "firing", "warning").Data.Alerts})
	if err != nil {
		t.Fatal(err)
	}
	damaged := slices.Clone(body)
	damaged[len(damaged)/2] ^= 0xff
	for _, c := range []struct {
		name   string
		batch  []byte
		alerts []int
		want   string
	}{
		{"truncated JSON", []byte(`{"alerts":`), nil, "stored payload is unreadable: unexpected end of JSON input"},
		{"damaged zstd", damaged, nil, "stored payload is unreadable: "},
		{"truncated zstd", body[:len(body)-3], nil, "stored payload is unreadable: decompress: "},
		{"alert out of range", body, []int{0, 2}, "stored payload is unreadable: alert 2 of a batch of 2"},
	} {
		n := store.Notification{ID: 1, Receiver: "r", Status: "firing", Batch: c.batch, Alerts: c.alerts}
		if _, err := Decode(&n); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error starting %q", c.name, err, c.want)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The workers share decoded batches, not messages: each gets its own alerts, and a batch
// decoded once serves every notification of it, also after others came and went.
func TestBatchCacheSharesDecodingNotMessages(t *testing.T) {
	alerts := receivertest.Message(3, "firing", "critical").Data.Alerts
	body, err := EncodeBatch(&Batch{Alerts: alerts})
	if err != nil {
		t.Fatal(err)
	}
	var c batchCache
	all := store.Notification{ID: 1, Receiver: "a", Status: "firing", BatchID: 7, Batch: body}
	some := store.Notification{ID: 2, Receiver: "b", Status: "firing", BatchID: 7, Batch: body, Alerts: []int{2}}
	first, err := c.decode(&all)
	if err != nil {
		t.Fatal(err)
	}
	first.Data.Alerts[0] = template.Alert{} // a receiver that wrote to its message
	// From the cache now: a batch body that does not decode proves it.
	all.Batch, some.Batch = []byte("not a batch"), []byte("not a batch")
	again, err := c.decode(&all)
	if err != nil {
		t.Fatalf("second decode of batch 7 did not come from the cache: %v", err)
	}
	if !reflect.DeepEqual(again.Data.Alerts, alerts) {
		t.Fatalf("a message's alerts changed the cached batch: %+v", again.Data.Alerts)
	}
	if m, err := c.decode(&some); err != nil || len(m.Data.Alerts) != 1 || !reflect.DeepEqual(m.Data.Alerts[0], alerts[2]) {
		t.Fatalf("subset from the cache: %+v, %v", m, err)
	}
	// Once batchCacheSize other batches were decoded, batch 7 is decoded again.
	for id := range int64(batchCacheSize) {
		if _, err := c.decode(&store.Notification{ID: 10 + id, Receiver: "a", Status: "firing", BatchID: 100 + id, Batch: body}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.decode(&all); err == nil {
		t.Fatal("batch 7 still cached after batchCacheSize others")
	}
}
