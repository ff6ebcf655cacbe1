package lint

import (
	"fmt"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// absentCheck flags absent() that cannot say what is missing: it returns only the
// labels of equality matchers, and it fires only when nothing at all matches.
type absentCheck struct{}

func (absentCheck) ID() string         { return "promql/absent" }
func (absentCheck) Severity() Severity { return Warning }
func (absentCheck) Doc() string {
	return "absent() reads a plain selector with equality matchers only."
}

func (absentCheck) CheckRule(ctx *Context, r *Rule) []Problem {
	var out []Problem
	parser.Inspect(r.Query, func(n parser.Node, _ []parser.Node) error {
		call, ok := n.(*parser.Call)
		if !ok || (call.Func.Name != "absent" && call.Func.Name != "absent_over_time") || len(call.Args) == 0 {
			return nil
		}
		vs := selectorOf(call.Args[0])
		if vs == nil {
			out = append(out, Problem{Pos: r.ExprPos, Message: fmt.Sprintf(
				"%s(%s) reads an expression, not a selector: its alert has no labels (not even job or %s) and fires only when the whole expression is empty",
				call.Func.Name, call.Args[0], ctx.HostgroupLabel)})
			return nil
		}
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel || m.Type == labels.MatchEqual {
				continue
			}
			out = append(out, Problem{Pos: r.ExprPos, Message: fmt.Sprintf(
				"%s() with the matcher %s: the alert loses the %s label, and it fires only when no series at all matches, so one of several targets vanishing goes unnoticed; use one absent() per value",
				call.Func.Name, m, m.Name)})
		}
		return nil
	})
	return out
}
