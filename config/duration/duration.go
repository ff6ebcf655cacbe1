// Package duration is the duration type of every config section, alertrouter's own and
// each receiver's. It is a leaf package so that receivers can use it without importing
// config, and a bad value anywhere is reported with its file, line and field.
package duration

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// Duration is a Prometheus-style duration ("30s", "4h", "7d").
type Duration model.Duration

// UnmarshalYAML parses a duration. Its error is a *yaml.TypeError that carries the line:
// the decoder then carries on and reports it with the file's other errors, and the config
// package names the field from the line.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := model.ParseDuration(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a duration (like 30s, 5m, 4h or 7d)", n.Line, n.Value)}}
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as Prometheus does.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

func (d Duration) String() string { return model.Duration(d).String() }

// Std is the duration as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// Or is the duration, or def when it is zero (not set).
func (d Duration) Or(def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return time.Duration(d)
}
