package config

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// Duration is a Prometheus-style duration ("30s", "4h", "7d") whose parse errors carry
// their line, so that config errors can name the field.
type Duration model.Duration

// UnmarshalYAML parses a duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := model.ParseDuration(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		// A TypeError lets the decoder carry on and report it with the others.
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
