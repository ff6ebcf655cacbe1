package receivers

import "github.com/prometheus/alertmanager/template"

// Folder is a receiver whose rate limit is low enough (the IM robots allow 20 messages a
// minute) that a burst would wait in the outbox for a long time. When more notifications
// are due than its pace allows, the dispatcher folds them into digests: one message for
// the longest run of them, in order, that Fits (see Fold).
type Folder interface {
	Receiver
	RateLimited
	// Fits reports whether m renders as one message within the destination's size limit
	// with all its alerts.
	Fits(m *Message) (bool, error)
}

// Fold merges the longest prefix of msgs that f fits in one message, and says how long
// it is: at least 1, the first message alone (which Send truncates as usual).
func Fold(f Folder, msgs []*Message) (*Message, int, error) {
	folded, n := msgs[0], 1
	for n < len(msgs) {
		next := Merge(msgs[:n+1])
		ok, err := f.Fits(next)
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			break
		}
		folded, n = next, n+1
	}
	return folded, n, nil
}

// Merge makes one message of notifications to one receiver: their alerts in order, firing
// when any alert is, grouped by the group labels they share, with the first's ID, and its
// route and host group when they all share them.
func Merge(msgs []*Message) *Message {
	if len(msgs) == 1 {
		return msgs[0]
	}
	first := msgs[0]
	m := &Message{ID: first.ID, Receiver: first.Receiver, Route: first.Route, Hostgroup: first.Hostgroup}
	var alerts template.Alerts
	groupLabels := template.KV{}
	for k, v := range first.Data.GroupLabels {
		groupLabels[k] = v
	}
	for _, msg := range msgs {
		if msg.Route != m.Route {
			m.Route = ""
		}
		if msg.Hostgroup != m.Hostgroup {
			m.Hostgroup = ""
		}
		for k, v := range groupLabels {
			if msg.Data.GroupLabels[k] != v {
				delete(groupLabels, k)
			}
		}
		alerts = append(alerts, msg.Data.Alerts...)
	}
	status := "resolved"
	if len(alerts.Firing()) > 0 {
		status = "firing"
	}
	m.Data = NewData(first.Data.Receiver, status, alerts, groupLabels, first.Data.ExternalURL)
	return m
}
