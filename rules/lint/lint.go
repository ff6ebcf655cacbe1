// Package lint checks Prometheus rule files the way promtool parses them, plus what
// promtool cannot know: which alerts lose the hostgroup label that alertrouter routes
// on, which templates name labels the expression cannot produce, and which ranges are
// too short for the scrape interval. Each check lives in its own file with an ID, a
// severity and a one-line doc, after cloudflare/pint.
package lint

import (
	"fmt"
	"sort"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/alertrouter/alertrouter/config"
)

// Severity orders findings; --fail-on picks the lowest that fails the run.
type Severity int

// The severities, lowest first.
const (
	Info Severity = iota
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	default:
		return "error"
	}
}

// ParseSeverity reads "info", "warning" or "error".
func ParseSeverity(s string) (Severity, error) {
	for _, sev := range []Severity{Info, Warning, Error} {
		if sev.String() == s {
			return sev, nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want info, warning or error)", s)
}

// MarshalText makes findings print their severity by name in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Position is a place in a rule file; Line and Column count from 1, 0 when unknown.
type Position struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// Finding is one problem in one file.
type Finding struct {
	File     string   `json:"file"`
	Position          // where the problem is
	Severity Severity `json:"severity"`
	Check    string   `json:"check"`
	Rule     string   `json:"rule,omitempty"` // the alert or recording rule, when there is one
	Message  string   `json:"message"`
}

// Problem is what a check reports about a rule: the linter adds file, severity and ID.
type Problem struct {
	Pos     Position
	Message string
}

// Check is one lint check. Checks are stateless; the Context carries what they need
// to know about the world.
type Check interface {
	ID() string
	Severity() Severity
	Doc() string
}

// RuleCheck looks at one rule at a time.
type RuleCheck interface {
	Check
	CheckRule(ctx *Context, r *Rule) []Problem
}

// SetCheck looks at all the rules being linted together, as Prometheus loads them.
type SetCheck interface {
	Check
	CheckSet(ctx *Context, rules []*Rule) []Finding
}

// Context is what the checks know beyond the rules: the scrape setup from
// prometheus.yml and the routes from alertrouter.yml, when given.
type Context struct {
	// HostgroupLabel is the label alertrouter routes on.
	HostgroupLabel string
	// Severities are the allowed values of the severity label.
	Severities []string
	// DefaultScrapeInterval applies to series whose job is not known.
	DefaultScrapeInterval time.Duration
	// Prometheus is the parsed prometheus.yml; nil when not given.
	Prometheus *PrometheusConfig
	// Router is the alertrouter config; nil when not given.
	Router *config.Config

	// records are the recording rules being linted, by name.
	records map[string][]*Rule
}

// scrapeInterval is the interval of the job a selector names, else the default.
func (c *Context) scrapeInterval(job string) time.Duration {
	if c.Prometheus != nil {
		if j, ok := c.Prometheus.Jobs[job]; ok && job != "" {
			return j.ScrapeInterval
		}
		return c.Prometheus.ScrapeInterval
	}
	return c.DefaultScrapeInterval
}

// Checks returns every check, sorted by ID.
func Checks() []Check {
	all := []Check{
		parseCheck{}, syntaxCheck{}, duplicateCheck{}, forCheck{}, severityCheck{},
		hostgroupCheck{}, templateCheck{}, annotationsCheck{}, rangeCheck{}, rateCheck{},
		counterCheck{}, absentCheck{}, jobCheck{}, routeCheck{},
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID() < all[j].ID() })
	return all
}

// Lookup returns the check with the given ID.
func Lookup(id string) (Check, bool) {
	for _, c := range Checks() {
		if c.ID() == id {
			return c, true
		}
	}
	return nil, false
}

// resultLabels is what the linter knows about the labels of expr's result.
func (c *Context) resultLabels(expr parser.Expr) labelSet {
	env := &labelEnv{records: c.records}
	if c.Prometheus != nil {
		env.jobs = c.Prometheus.jobLabels(c.HostgroupLabel)
	}
	return env.labels(expr)
}
