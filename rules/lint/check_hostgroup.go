package lint

import "fmt"

// hostgroupCheck finds alerts that can never be routed: alertrouter routes on the
// hostgroup label, and an aggregation or join that drops it sends the alert to the
// default receivers only. This is what promtool cannot tell you.
type hostgroupCheck struct{}

func (hostgroupCheck) ID() string         { return "labels/hostgroup" }
func (hostgroupCheck) Severity() Severity { return Error }
func (hostgroupCheck) Doc() string {
	return "An alert carries the hostgroup label, statically or from its series; no aggregation or join drops it."
}

func (hostgroupCheck) CheckRule(ctx *Context, r *Rule) []Problem {
	label := ctx.HostgroupLabel
	if r.Alert == "" || r.Labels[label] != "" {
		return nil
	}
	if ctx.Prometheus != nil && ctx.Prometheus.ExternalLabels[label] != "" {
		return nil
	}
	ok, why := ctx.resultLabels(r.Query).has(label)
	if ok {
		return nil
	}
	return []Problem{{Pos: r.ExprPos, Message: fmt.Sprintf(
		"alert has no %[1]s label: %[2]s drops it, so it reaches only the default receivers; keep %[1]s in the result (by (..., %[1]s)) or set it under labels",
		label, why)}}
}
