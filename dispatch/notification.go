package dispatch

import (
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/store"
)

// Notification is the outbox's contract: alerts of one host group with one status, for
// one receiver, sent there by one route. The watchdog makes them from its events;
// Enqueue is their encoder and Decode the outbox's one decoder. (The router enqueues
// webhooks' alerts in shared batches: EncodeBatch and store.Tx.EnqueueAll.)
type Notification struct {
	Receiver  string
	Route     string
	Hostgroup string
	// Data is what the receiver's templates see, in Alertmanager's shape (receivers.NewData).
	Data *receivers.Data
}

// Enqueue writes n to the outbox in tx, with its alerts in a batch of its own, due now or
// after the pending notifications of its receiver and host group, and returns its id.
func Enqueue(tx *store.Tx, n Notification, now time.Time) (int64, error) {
	body, err := EncodeBatch(&Batch{GroupLabels: n.Data.GroupLabels, ExternalURL: n.Data.ExternalURL, Alerts: n.Data.Alerts})
	if err != nil {
		return 0, err
	}
	return tx.Enqueue(store.NewNotification{
		Receiver: n.Receiver, Route: n.Route, Hostgroup: n.Hostgroup, Status: n.Data.Status,
		AlertNames: AlertNames(n.Data.Alerts), AlertCount: len(n.Data.Alerts),
	}, body, now)
}

// Decode turns a stored notification back into the message its receiver gets: the
// alerts of its batch that it carries, in Alertmanager's shape (receivers.NewData).
func Decode(n *store.Notification) (*receivers.Message, error) {
	b, err := decodeBatch(n.Batch)
	if err != nil {
		return nil, fmt.Errorf("stored payload is unreadable: %w", err)
	}
	return message(n, b)
}

// message is n's message, its alerts taken from b, n's batch decoded.
func message(n *store.Notification, b *Batch) (*receivers.Message, error) {
	alerts, err := b.pick(n.Alerts)
	if err != nil {
		return nil, fmt.Errorf("stored payload is unreadable: %w", err)
	}
	for i := range alerts {
		if ack, ok := n.Acks[alerts[i].Fingerprint]; ok {
			// A copy: the batch, and its annotations, may be shared with other messages.
			annotations := maps.Clone(alerts[i].Annotations)
			if annotations == nil {
				annotations = template.KV{}
			}
			annotations[AckAnnotation] = AckText(ack)
			alerts[i].Annotations = annotations
		}
	}
	data := receivers.NewData(n.Receiver, n.Status, alerts, b.GroupLabels, b.ExternalURL)
	return &receivers.Message{ID: n.ID, Receiver: n.Receiver, Route: n.Route, Hostgroup: n.Hostgroup, Data: data}, nil
}

// AckAnnotation is the annotation that tells, in a resolution, who acknowledged the
// episode it ends: every receiver's message shows annotations.
const AckAnnotation = "acknowledged_by"

// AckText is an acknowledgement in words: "alice at 2026-12-07T10:00:00Z (on it)".
func AckText(a store.Ack) string {
	text := a.Author + " at " + a.At.UTC().Format(time.RFC3339)
	if a.Comment != "" {
		text += " (" + a.Comment + ")"
	}
	return text
}

// batchCache keeps the batches the workers decoded last: the workers of the receivers
// that share a batch each deliver it, usually within milliseconds of each other, and
// decoding one took longer than the rest of a log receiver's delivery. Decoded batches are
// never written to: receivers get messages of their own (message copies the alerts).
type batchCache struct {
	mu    sync.Mutex
	byID  map[int64]*Batch
	order []int64 // oldest first
}

// batchCacheSize is the number of batches kept: a few workers' batches (64) each.
const batchCacheSize = 256

// decode is Decode, with n's batch taken from the cache when it is there.
func (c *batchCache) decode(n *store.Notification) (*receivers.Message, error) {
	c.mu.Lock()
	b := c.byID[n.BatchID]
	c.mu.Unlock()
	if b == nil {
		var err error
		if b, err = decodeBatch(n.Batch); err != nil {
			return nil, fmt.Errorf("stored payload is unreadable: %w", err)
		}
		c.mu.Lock()
		if c.byID == nil {
			c.byID = make(map[int64]*Batch, batchCacheSize)
		}
		if _, ok := c.byID[n.BatchID]; !ok {
			if len(c.order) == batchCacheSize {
				delete(c.byID, c.order[0])
				c.order = c.order[1:]
			}
			c.byID[n.BatchID] = b
			c.order = append(c.order, n.BatchID)
		}
		c.mu.Unlock()
	}
	return message(n, b)
}
