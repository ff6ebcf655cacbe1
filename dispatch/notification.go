package dispatch

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/store"
)

// Notification is the outbox's contract: alerts of one host group with one status, for
// one receiver, sent there by one route. The router makes them from webhooks and the
// watchdog from its events; Enqueue is their one encoder and decode their one decoder.
type Notification struct {
	Receiver  string
	Route     string
	Hostgroup string
	// Data is what the receiver's templates see, in Alertmanager's shape (receivers.NewData).
	Data *receivers.Data
}

// Enqueue writes n to the outbox in tx, due now or after the pending notifications of its
// receiver and host group, and returns its id. The stored payload is n.Data as JSON.
func Enqueue(tx *store.Tx, n Notification, now time.Time) (int64, error) {
	ids, err := EnqueueAll(tx, []Notification{n}, now)
	if err != nil {
		return 0, err
	}
	return ids[0], nil
}

// EnqueueAll is Enqueue for many notifications at once (one round trip on PostgreSQL); it
// returns their ids in order.
func EnqueueAll(tx *store.Tx, ns []Notification, now time.Time) ([]int64, error) {
	rows := make([]store.NewNotification, len(ns))
	for i, n := range ns {
		payload, err := json.Marshal(n.Data)
		if err != nil {
			return nil, fmt.Errorf("encode notification: %w", err)
		}
		rows[i] = store.NewNotification{
			Receiver: n.Receiver, Route: n.Route, Hostgroup: n.Hostgroup, Status: n.Data.Status,
			AlertNames: alertNames(n.Data.Alerts), AlertCount: len(n.Data.Alerts), Payload: payload,
		}
	}
	return tx.EnqueueAll(rows, now)
}

// alertNames are the distinct alert names, sorted, for listings.
func alertNames(alerts template.Alerts) []string {
	var names []string
	for _, a := range alerts {
		if n := a.Labels["alertname"]; !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// decode turns a stored row back into the message its receiver gets.
func decode(n *store.Notification) (*receivers.Message, error) {
	var data receivers.Data
	if err := json.Unmarshal(n.Payload, &data); err != nil {
		return nil, fmt.Errorf("stored payload is unreadable: %w", err)
	}
	return &receivers.Message{ID: n.ID, Receiver: n.Receiver, Route: n.Route, Hostgroup: n.Hostgroup, Data: &data}, nil
}
