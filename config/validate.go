package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/alertrouter/alertrouter/receivers"
)

// fieldError is a validation problem at a path like "routes[1].hostgroup_regex".
type fieldError struct {
	path, msg string
}

func (e *fieldError) Error() string { return e.path + ": " + e.msg }

func errf(path, format string, args ...any) error {
	return &fieldError{path: path, msg: fmt.Sprintf(format, args...)}
}

func (c *Config) validate() error {
	if err := c.Global.validate(); err != nil {
		return err
	}
	loc, err := time.LoadLocation(c.Global.Timezone)
	if err != nil {
		return errf("global.timezone", "unknown time zone %q (use Local, UTC or a name such as Asia/Shanghai)", c.Global.Timezone)
	}
	c.location = loc
	if c.templates, err = receivers.NewTemplates(c.Templates, loc); err != nil {
		return errf("templates", "%v", err)
	}
	if err := c.Webhook.validate(); err != nil {
		return err
	}
	if err := c.Web.validate(); err != nil {
		return err
	}
	names := map[string]bool{}
	for i := range c.Receivers {
		r := &c.Receivers[i]
		path := fmt.Sprintf("receivers[%d]", i)
		if err := r.validate(path, c.templates); err != nil {
			return err
		}
		if names[r.Name] {
			return errf(path+".name", "duplicate receiver name %q", r.Name)
		}
		names[r.Name] = true
	}
	routeNames := map[string]bool{}
	for i := range c.Routes {
		r := &c.Routes[i]
		path := fmt.Sprintf("routes[%d]", i)
		if r.Name == "" {
			r.Name = path
		}
		if routeNames[r.Name] {
			return errf(path+".name", "duplicate route name %q", r.Name)
		}
		routeNames[r.Name] = true
		if err := r.validate(path, names); err != nil {
			return err
		}
	}
	if len(c.DefaultReceivers) == 0 {
		return errf("default_receivers", "at least one receiver is required: alerts that match no route go there")
	}
	if err := checkReceiverRefs("default_receivers", c.DefaultReceivers, names); err != nil {
		return err
	}
	if err := validateAlertmanagers(c.Alertmanagers); err != nil {
		return err
	}
	if c.Watchdog != nil {
		return c.Watchdog.validate(names, c.Alertmanagers)
	}
	return nil
}

func (g *Global) validate() error {
	if !model.UTF8Validation.IsValidLabelName(g.HostgroupLabel) {
		return errf("global.hostgroup_label", "%q is not a valid label name", g.HostgroupLabel)
	}
	if g.RepeatInterval <= 0 {
		return errf("global.repeat_interval", "must be positive")
	}
	if g.MaxRetryAge <= 0 {
		return errf("global.max_retry_age", "must be positive")
	}
	if g.MaxClockSkew <= 0 {
		return errf("global.max_clock_skew", "must be positive")
	}
	// A still-firing alert refreshes its claim once per repeat_interval; a retention that
	// short would prune live claims and drop the alert's resolved notification.
	if g.Retention <= g.RepeatInterval {
		return errf("global.retention", "must be longer than repeat_interval (%s)", g.RepeatInterval)
	}
	// Claims of notifications still being retried must not be pruned under them.
	if g.Retention <= g.MaxRetryAge {
		return errf("global.retention", "must be longer than max_retry_age (%s)", g.MaxRetryAge)
	}
	return nil
}

func (w *Webhook) validate() error {
	if err := w.Credentials.validate("webhook"); err != nil {
		return err
	}
	if w.MaxBodyBytes <= 0 {
		return errf("webhook.max_body_bytes", "must be positive")
	}
	return nil
}

// validate checks credentials at path: one kind at most, each whole.
func (c *Credentials) validate(path string) error {
	if c.BearerToken != "" && c.BearerTokenFile != "" {
		return errf(path+".bearer_token", "bearer_token and bearer_token_file are mutually exclusive")
	}
	if c.BasicAuth != nil {
		if c.BearerToken != "" || c.BearerTokenFile != "" {
			return errf(path+".basic_auth", "basic_auth and a bearer token are mutually exclusive")
		}
		b := c.BasicAuth
		switch {
		case b.Username == "":
			return errf(path+".basic_auth.username", "is required")
		case b.Password == "" && b.PasswordFile == "":
			return errf(path+".basic_auth.password", "one of password or password_file is required")
		case b.Password != "" && b.PasswordFile != "":
			return errf(path+".basic_auth.password", "password and password_file are mutually exclusive")
		}
	}
	return nil
}

// secretFiles hands check the files of credentials at path, for config check.
func (c *Credentials) secretFiles(path string, check func(field, file string)) {
	check(path+".bearer_token_file", c.BearerTokenFile)
	if c.BasicAuth != nil {
		check(path+".basic_auth.password_file", c.BasicAuth.PasswordFile)
	}
}

func (r *Route) validate(path string, receivers map[string]bool) error {
	if r.Hostgroup != "" && r.HostgroupRegex != "" {
		return errf(path+".hostgroup_regex", "hostgroup and hostgroup_regex are mutually exclusive")
	}
	if r.Hostgroup == "" && r.HostgroupRegex == "" && len(r.Matchers) == 0 {
		return errf(path, "needs hostgroup, hostgroup_regex or matchers (for a catch-all use matchers: ['alertname=~\".+\"'])")
	}
	if r.HostgroupRegex != "" {
		re, err := regexp.Compile("^(?:" + r.HostgroupRegex + ")$")
		if err != nil {
			return errf(path+".hostgroup_regex", "%v", err)
		}
		r.hostgroupRegex = re
	}
	r.matchers = nil
	for i, s := range r.Matchers {
		ms, err := ParseMatchers(s)
		if err != nil {
			return errf(fmt.Sprintf("%s.matchers[%d]", path, i), "%v", err)
		}
		r.matchers = append(r.matchers, ms...)
	}
	if len(r.Receivers) == 0 {
		return errf(path+".receivers", "at least one receiver is required")
	}
	return checkReceiverRefs(path+".receivers", r.Receivers, receivers)
}

func checkReceiverRefs(path string, refs []string, known map[string]bool) error {
	seen := map[string]bool{}
	for i, name := range refs {
		p := fmt.Sprintf("%s[%d]", path, i)
		if !known[name] {
			return errf(p, "unknown receiver %q", name)
		}
		if seen[name] {
			return errf(p, "receiver %q listed twice", name)
		}
		seen[name] = true
	}
	return nil
}

// lineOf finds the line of the node at path ("routes[1].matchers[0]") in a parsed
// document, falling back to the deepest ancestor found.
func lineOf(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, seg := range splitPath(path) {
		next, l := child(n, seg)
		if next == nil {
			break
		}
		n, line = next, l
	}
	return line
}

// child returns the node at seg below n and the line to report for it: a mapping key's
// own line, so that "receivers:" is named rather than its first item.
func child(n *yaml.Node, seg pathSeg) (*yaml.Node, int) {
	if seg.index >= 0 {
		if n.Kind == yaml.SequenceNode && seg.index < len(n.Content) {
			return n.Content[seg.index], n.Content[seg.index].Line
		}
		return nil, 0
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == seg.key {
				return n.Content[i+1], n.Content[i].Line
			}
		}
	}
	return nil, 0
}

type pathSeg struct {
	key   string
	index int // -1 for a key
}

func splitPath(path string) []pathSeg {
	var out []pathSeg
	for _, part := range strings.Split(path, ".") {
		key, rest, _ := strings.Cut(part, "[")
		if key != "" {
			out = append(out, pathSeg{key: key, index: -1})
		}
		for rest != "" {
			idx, after, _ := strings.Cut(rest, "]")
			i, err := strconv.Atoi(idx)
			if err != nil {
				break
			}
			out = append(out, pathSeg{index: i})
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return out
}

// typeErrors rewrites the decoder's "line N: message" errors as "name:N: field: message",
// naming the field from the document so that users need not map lines to keys.
func typeErrors(name string, root *yaml.Node, te *yaml.TypeError) error {
	msgs := make([]string, 0, len(te.Errors))
	for _, e := range te.Errors {
		var line int
		if _, err := fmt.Sscanf(e, "line %d:", &line); err != nil {
			msgs = append(msgs, name+": "+e)
			continue
		}
		msg := strings.TrimSpace(e[strings.Index(e, ":")+1:])
		if path := pathAtLine(root, line); path != "" {
			msg = path + ": " + msg
		}
		msgs = append(msgs, fmt.Sprintf("%s:%d: %s", name, line, msg))
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// pathAtLine returns the path ("routes[1].matchers") of the deepest mapping key on line,
// or else of a list item on it ("routes[1].matchers[0]").
func pathAtLine(n *yaml.Node, line int) string {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	var found, item string
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				key, val := n.Content[i], n.Content[i+1]
				p := key.Value
				if path != "" {
					p = path + "." + key.Value
				}
				if key.Line == line {
					found = p
				}
				walk(val, p)
			}
		case yaml.SequenceNode:
			for i, it := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if it.Kind == yaml.ScalarNode && it.Line == line {
					item = p
				}
				walk(it, p)
			}
		}
	}
	walk(n, "")
	if found == "" {
		return item
	}
	return found
}
