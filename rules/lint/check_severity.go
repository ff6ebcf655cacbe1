package lint

import (
	"fmt"
	"slices"
	"strings"
)

// severityCheck makes every alert say how urgent it is, in words the receivers and
// the people on call share.
type severityCheck struct{}

func (severityCheck) ID() string         { return "labels/severity" }
func (severityCheck) Severity() Severity { return Error }
func (severityCheck) Doc() string {
	return "An alert has a severity label with an allowed value (critical, warning, info by default)."
}

func (severityCheck) CheckRule(ctx *Context, r *Rule) []Problem {
	if r.Alert == "" {
		return nil
	}
	v, ok := r.Labels["severity"]
	if !ok {
		return []Problem{{Pos: r.Pos, Message: fmt.Sprintf("alert has no severity label; set one of %s", strings.Join(ctx.Severities, ", "))}}
	}
	if isTemplated(v) || slices.Contains(ctx.Severities, v) {
		return nil
	}
	return []Problem{{Pos: r.LabelPos["severity"], Message: fmt.Sprintf("severity %q is not one of %s", v, strings.Join(ctx.Severities, ", "))}}
}

// isTemplated reports whether a label value is a template, known only at evaluation.
func isTemplated(v string) bool { return strings.Contains(v, "{{") }
