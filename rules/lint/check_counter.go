package lint

import (
	"fmt"
	"strings"

	"github.com/prometheus/prometheus/promql/parser"
)

// counterCheck flags a counter compared as it is: its raw value is how much it grew
// since the process started, so the alert depends on uptime, not on what happens now.
type counterCheck struct{}

func (counterCheck) ID() string         { return "promql/counter" }
func (counterCheck) Severity() Severity { return Warning }
func (counterCheck) Doc() string {
	return "A counter (_total) is compared through rate or increase, never raw."
}

func (counterCheck) CheckRule(_ *Context, r *Rule) []Problem {
	var out []Problem
	parser.Inspect(r.Query, func(n parser.Node, _ []parser.Node) error {
		b, ok := n.(*parser.BinaryExpr)
		if !ok || !b.Op.IsComparisonOperator() {
			return nil
		}
		for _, side := range []parser.Expr{b.LHS, b.RHS} {
			if name := rawCounter(side); name != "" {
				out = append(out, Problem{Pos: r.ExprPos, Message: fmt.Sprintf(
					"%s is a counter compared raw: its value is the total since the target started; compare rate(%s[5m]) or increase(%s[1h])",
					name, name, name)})
			}
		}
		return nil
	})
	return out
}

// rawCounter returns the name of a _total series that e reads without rate or
// increase (through parentheses and aggregations), "" otherwise.
func rawCounter(e parser.Expr) string {
	switch e := unwrapParens(e).(type) {
	case *parser.VectorSelector:
		if name := metricName(e); strings.HasSuffix(name, "_total") && !isRecorded(name) {
			return name
		}
	case *parser.AggregateExpr:
		switch e.Op {
		case parser.SUM, parser.MIN, parser.MAX, parser.AVG, parser.TOPK, parser.BOTTOMK:
			return rawCounter(e.Expr)
		}
	}
	return ""
}
