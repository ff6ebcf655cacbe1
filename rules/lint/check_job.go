package lint

import (
	"fmt"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// jobCheck, given prometheus.yml, finds selectors whose job matcher names no scrape
// job: a typo there makes an alert that can never fire.
type jobCheck struct{}

func (jobCheck) ID() string         { return "promql/job" }
func (jobCheck) Severity() Severity { return Error }
func (jobCheck) Doc() string {
	return "With --prometheus.config: every job matcher matches a scrape job."
}

func (jobCheck) CheckRule(ctx *Context, r *Rule) []Problem {
	// Federation (honor_labels) and relabeling can give series any job: then a job
	// name that is no scrape job proves nothing.
	if ctx.Prometheus == nil || ctx.Prometheus.jobsMayBeRenamed() {
		return nil
	}
	jobs := ctx.Prometheus.JobNames()
	var out []Problem
	parser.Inspect(r.Query, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		for _, m := range vs.LabelMatchers {
			if m.Name != "job" || m.Type == labels.MatchNotEqual || m.Type == labels.MatchNotRegexp {
				continue
			}
			if !matchesAny(m, jobs) {
				out = append(out, Problem{Pos: r.ExprPos, Message: fmt.Sprintf(
					"%s matches no scrape job in the Prometheus config (jobs: %s), so this selector is always empty",
					m, strings.Join(jobs, ", "))})
			}
		}
		return nil
	})
	return out
}

func matchesAny(m *labels.Matcher, values []string) bool {
	for _, v := range values {
		if m.Matches(v) {
			return true
		}
	}
	return false
}
