package lint

import (
	"fmt"
	"strings"

	"github.com/prometheus/common/model"
)

// routeCheck, given alertrouter.yml, finds alerts whose static hostgroup no route
// takes: they reach only the default receivers, which is rarely what was meant.
type routeCheck struct{}

func (routeCheck) ID() string         { return "alerts/route" }
func (routeCheck) Severity() Severity { return Warning }
func (routeCheck) Doc() string {
	return "With --config.file: an alert's static hostgroup matches a route, so it reaches more than the default receivers."
}

func (routeCheck) CheckRule(ctx *Context, r *Rule) []Problem {
	if ctx.Router == nil || r.Alert == "" {
		return nil
	}
	if ctx.Router.IsHeartbeat(r.Alert) {
		return nil // the heartbeat goes to the dead-man's switch, not through routes
	}
	// The labels known before evaluation: Prometheus's external labels, then the
	// rule's own, then the alert name.
	known := model.LabelSet{}
	if ctx.Prometheus != nil {
		for k, v := range ctx.Prometheus.ExternalLabels {
			known[model.LabelName(k)] = model.LabelValue(v)
		}
	}
	for k, v := range r.Labels {
		known[model.LabelName(k)] = model.LabelValue(v)
	}
	known[model.AlertNameLabel] = model.LabelValue(r.Alert)
	hostgroup, ok := known[model.LabelName(ctx.HostgroupLabel)]
	if !ok || hostgroup == "" || isTemplated(string(hostgroup)) {
		return nil // from the series: known only at evaluation
	}
	for i := range ctx.Router.Routes {
		rt := &ctx.Router.Routes[i]
		if !rt.MatchesHostgroup(string(hostgroup), true) {
			continue
		}
		mayMatch := true
		for _, m := range rt.ParsedMatchers() {
			v, ok := known[model.LabelName(m.Name)]
			if ok && !isTemplated(string(v)) && !m.Matches(string(v)) {
				mayMatch = false
				break
			}
		}
		if mayMatch {
			return nil
		}
	}
	pos := r.LabelPos[ctx.HostgroupLabel]
	if pos.Line == 0 {
		pos = r.Pos
	}
	return []Problem{{Pos: pos, Message: fmt.Sprintf(
		"%s %q matches no route in the alertrouter config, so this alert reaches only the default receivers (%s)",
		ctx.HostgroupLabel, hostgroup, strings.Join(ctx.Router.DefaultReceivers, ", "))}}
}
