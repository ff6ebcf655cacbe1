package router

import (
	"fmt"
	"github.com/prometheus/common/model"
	"strings"

	"github.com/alertrouter/alertrouter/config"
)

// DefaultRoute names the route taken by alerts that no configured route matches.
const DefaultRoute = "default"

// Why an alert went to the default receivers.
const (
	reasonNoHostgroup = "no_hostgroup"
	reasonNoRoute     = "no_route"
)

// Target is one receiver an alert is routed to, and the route that sent it there.
type Target struct {
	Receiver string
	Route    string
}

// Decision explains how one alert was routed.
type Decision struct {
	// Heartbeat means the alert is the watchdog's heartbeat: it is recorded for the
	// dead-man's switch and delivered to nobody, so Matched and Targets are empty.
	Heartbeat bool
	// Matched lists the routes that matched, in config order.
	Matched []string
	// Targets lists each receiver once, with the first route that named it.
	Targets []Target
	// DefaultReason is set when the alert fell through to default_receivers.
	DefaultReason string
}

// Routes matches alerts against a config's routes.
type Routes struct {
	cfg      *config.Config
	label    model.LabelName
	routes   []config.Route
	defaults []string
}

// NewRoutes prepares the routes of a validated config.
func NewRoutes(c *config.Config) *Routes {
	return &Routes{cfg: c, label: model.LabelName(c.Global.HostgroupLabel), routes: c.Routes, defaults: c.DefaultReceivers}
}

// Hostgroup returns the alert's host group label value, empty when absent.
func (r *Routes) Hostgroup(ls model.LabelSet) string { return string(ls[r.label]) }

// Route decides where an alert goes: the watchdog's heartbeat goes nowhere; otherwise
// routes are tried in order and the first match wins, unless it has continue: true.
// Nothing matched means default_receivers.
func (r *Routes) Route(ls model.LabelSet) Decision {
	var d Decision
	if r.cfg.IsHeartbeat(string(ls[model.AlertNameLabel])) {
		d.Heartbeat = true
		return d
	}
	hostgroup, hasHostgroup := ls[r.label]
	for i := range r.routes {
		rt := &r.routes[i]
		if !r.matches(rt, string(hostgroup), hasHostgroup, ls) {
			continue
		}
		d.Matched = append(d.Matched, rt.Name)
		for _, name := range rt.Receivers {
			d.addTarget(name, rt.Name)
		}
		if !rt.Continue {
			break
		}
	}
	if len(d.Matched) == 0 {
		d.DefaultReason = reasonNoRoute
		if !hasHostgroup || hostgroup == "" {
			d.DefaultReason = reasonNoHostgroup
		}
		for _, name := range r.defaults {
			d.addTarget(name, DefaultRoute)
		}
	}
	return d
}

func (r *Routes) matches(rt *config.Route, hostgroup string, hasHostgroup bool, ls model.LabelSet) bool {
	return rt.MatchesHostgroup(hostgroup, hasHostgroup) && rt.ParsedMatchers().Matches(ls)
}

func (d *Decision) addTarget(receiver, route string) {
	for _, t := range d.Targets {
		if t.Receiver == receiver {
			return
		}
	}
	d.Targets = append(d.Targets, Target{Receiver: receiver, Route: route})
}

// Explain is the decision in words, a line each: the route (or why none), then each
// receiver and the route that named it; `route test` prints it, the console shows it.
func (d Decision) Explain(ls model.LabelSet) []string {
	var out []string
	switch {
	case d.Heartbeat:
		out = append(out, fmt.Sprintf("heartbeat: %s is the watchdog's heartbeat: recorded for the dead-man's switch, delivered to no receiver", ls[model.AlertNameLabel]))
	case d.DefaultReason != "":
		out = append(out, fmt.Sprintf("route:     %s (%s)", DefaultRoute, strings.ReplaceAll(d.DefaultReason, "_", " ")))
	default:
		out = append(out, fmt.Sprintf("route:     %s", strings.Join(d.Matched, ", ")))
	}
	for _, t := range d.Targets {
		out = append(out, fmt.Sprintf("receiver:  %s (via %s)", t.Receiver, t.Route))
	}
	return out
}
