// Package log is the receiver that prints each notification as one JSON line, by
// default on standard output: the receiver of the embedded default config, and a
// way to feed notifications to a log pipeline.
package log

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/alertrouter/alertrouter/receivers"
)

// Config configures a log receiver. It has no fields yet; `log: {}` enables it.
type Config struct{}

var (
	_ receivers.Config = (*Config)(nil)
)

// Validate checks the config.
func (c *Config) Validate() error { return nil }

// Receiver writes notifications to a writer, one JSON object per line.
type Receiver struct {
	mu  sync.Mutex
	out io.Writer
	now func() time.Time
}

var _ receivers.Receiver = (*Receiver)(nil)

// New returns a receiver that writes to out.
func New(_ *Config, out io.Writer) *Receiver {
	return &Receiver{out: out, now: time.Now}
}

// Line is the JSON object written for each notification.
type Line struct {
	Time         time.Time        `json:"time"`
	Notification int64            `json:"notification"`
	Receiver     string           `json:"receiver"`
	Route        string           `json:"route"`
	Hostgroup    string           `json:"hostgroup"`
	Status       string           `json:"status"`
	Alerts       []template.Alert `json:"alerts"`
}

var _ receivers.Previewer = (*Receiver)(nil)

// Send writes the notification as one line.
func (r *Receiver) Send(_ context.Context, m *receivers.Message) error {
	b, err := r.line(m)
	if err != nil {
		return receivers.Permanent(err)
	}
	b = append(b, '\n')
	r.mu.Lock()
	defer r.mu.Unlock()
	// One Write per line, so concurrent receivers sharing stdout never interleave a line.
	if _, err := r.out.Write(b); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

func (r *Receiver) line(m *receivers.Message) ([]byte, error) {
	b, err := json.Marshal(Line{
		Time: r.now().UTC(), Notification: m.ID, Receiver: m.Receiver, Route: m.Route,
		Hostgroup: m.Hostgroup, Status: m.Data.Status, Alerts: m.Data.Alerts,
	})
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return b, nil
}

// Preview is the line Send would write.
func (r *Receiver) Preview(m *receivers.Message) (string, error) {
	b, err := r.line(m)
	return string(b), err
}
