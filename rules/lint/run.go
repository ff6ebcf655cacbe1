package lint

import (
	"cmp"
	"slices"
	"time"

	"github.com/alertrouter/alertrouter/config"
)

// Options tune a lint run. The zero value lints with the defaults.
type Options struct {
	// HostgroupLabel defaults to the router config's, else "hostgroup".
	HostgroupLabel string
	// Severities default to critical, warning, info.
	Severities []string
	// ScrapeInterval applies where prometheus.yml is not given; default 1m,
	// Prometheus's own default.
	ScrapeInterval time.Duration
	Prometheus     *PrometheusConfig
	Router         *config.Config
}

// DefaultSeverities are the severity label values the packs and receivers use.
var DefaultSeverities = []string{"critical", "warning", "info"}

func (o Options) context(files []*File) *Context {
	ctx := &Context{
		HostgroupLabel:        o.HostgroupLabel,
		Severities:            o.Severities,
		DefaultScrapeInterval: o.ScrapeInterval,
		Prometheus:            o.Prometheus,
		Router:                o.Router,
		records:               map[string][]*Rule{},
	}
	if ctx.HostgroupLabel == "" {
		ctx.HostgroupLabel = config.DefaultHostgroupLabel
		if o.Router != nil {
			ctx.HostgroupLabel = o.Router.Global.HostgroupLabel
		}
	}
	if len(ctx.Severities) == 0 {
		ctx.Severities = DefaultSeverities
	}
	if ctx.DefaultScrapeInterval <= 0 {
		ctx.DefaultScrapeInterval = time.Minute
	}
	for _, f := range files {
		for _, r := range f.Rules {
			if r.Record != "" {
				ctx.records[r.Record] = append(ctx.records[r.Record], r)
			}
		}
	}
	return ctx
}

// Lint runs every check over the files, as Prometheus would load them together, and
// returns the findings sorted by file and position, each once. Parse errors come first-class:
// they cannot be disabled, since Prometheus would refuse the file.
func Lint(files []*File, opts Options) []Finding {
	ctx := opts.context(files)
	var all []*Rule
	byFile := map[string]*File{}
	var out []Finding
	for _, f := range files {
		byFile[f.Path] = f
		all = append(all, f.Rules...)
		out = append(out, f.Findings...)
	}
	for _, c := range Checks() {
		switch c := c.(type) {
		case RuleCheck:
			for _, r := range all {
				if byFile[r.File].disabled[c.ID()] || r.disabled[c.ID()] {
					continue
				}
				for _, p := range c.CheckRule(ctx, r) {
					out = append(out, Finding{File: r.File, Position: p.Pos, Severity: c.Severity(), Check: c.ID(), Rule: r.Name(), Message: p.Message})
				}
			}
		case SetCheck:
			for _, f := range c.CheckSet(ctx, all) {
				if byFile[f.File].disabled[c.ID()] || ruleAt(byFile[f.File], f.Position).disabled[c.ID()] {
					continue
				}
				f.Severity, f.Check = c.Severity(), c.ID()
				out = append(out, f)
			}
		}
	}
	// A problem seen twice in one expression, e.g. the same job matcher in both
	// operands, is one finding.
	seen := make(map[Finding]bool, len(out))
	out = slices.DeleteFunc(out, func(f Finding) bool {
		dup := seen[f]
		seen[f] = true
		return dup
	})
	slices.SortStableFunc(out, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column), cmp.Compare(a.Check, b.Check))
	})
	return out
}

// ruleAt is the rule a set check's finding points at, so its lint:disable applies.
func ruleAt(f *File, p Position) *Rule {
	for _, r := range f.Rules {
		if r.Pos == p {
			return r
		}
	}
	return &Rule{}
}
