package dispatch

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/alertrouter/alertrouter/receivers/receivertest"
	"github.com/alertrouter/alertrouter/store"
)

// What Enqueue writes, decode reads back: the message a receiver gets is the data that
// was enqueued, and the row's listing columns agree with it.
func TestEnqueueAndDecodeRoundTrip(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := receivertest.Message(3, "firing", "critical")
	m.Data.Alerts[1].Labels["alertname"] = "GPUMemoryNearlyFull"
	n := Notification{Receiver: "ops", Route: "routes[2]", Hostgroup: "gpu-render-a", Data: m.Data}
	now := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	var id int64
	if err := st.Update(ctx, func(tx *store.Tx) error {
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
	msg, err := decode(&row)
	if err != nil {
		t.Fatal(err)
	}
	if msg.ID != id || msg.Receiver != "ops" || msg.Route != "routes[2]" || msg.Hostgroup != "gpu-render-a" {
		t.Fatalf("message = %+v", msg)
	}
	if !reflect.DeepEqual(msg.Data, m.Data) {
		t.Fatalf("decoded data differs:\n got %+v\nwant %+v", msg.Data, m.Data)
	}

	row.Payload = []byte(`{"alerts":`)
	if _, err := decode(&row); err == nil || err.Error() != "stored payload is unreadable: unexpected end of JSON input" {
		t.Fatalf("decode of a broken payload: %v", err)
	}
}
