package lint

import (
	"fmt"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// labelSet is what the linter knows about the labels of an expression's result,
// following promql/engine.go: which labels surely survive, and which were surely
// lost and to what. Prometheus has no public helper for this.
type labelSet struct {
	// open: the result keeps the labels of its input series, which the linter
	// cannot list, except those in lost. Closed: the result has only the labels
	// in present (and lostTo says what closed it).
	open bool
	// present are labels known to be there: equality matchers, labels added by
	// label_replace, grouping labels, static labels of the scrape job.
	present map[string]bool
	// lost maps a label known to be gone to the operation that dropped it.
	lost map[string]string
	// closedBy names the operation that limited a closed set, for labels not in lost.
	closedBy string
	// scalar results have no labels and do not limit the other side of a binary op.
	scalar bool
}

func openSet() labelSet {
	return labelSet{open: true, present: map[string]bool{}, lost: map[string]string{}}
}

func closedSet(by string, names ...string) labelSet {
	s := labelSet{present: map[string]bool{}, lost: map[string]string{}, closedBy: by}
	for _, n := range names {
		s.present[n] = true
	}
	return s
}

func (s labelSet) clone() labelSet {
	c := s
	c.present = make(map[string]bool, len(s.present))
	for k, v := range s.present {
		c.present[k] = v
	}
	c.lost = make(map[string]string, len(s.lost))
	for k, v := range s.lost {
		c.lost[k] = v
	}
	return c
}

// has reports whether the result can carry name, and if not, why.
func (s labelSet) has(name string) (bool, string) {
	if s.present[name] {
		return true, ""
	}
	if by, ok := s.lost[name]; ok {
		return false, by
	}
	if s.open {
		return true, ""
	}
	return false, s.closedBy
}

// keepOnly closes the set to the given labels: aggregation by(), on().
func (s labelSet) keepOnly(by string, names []string) labelSet {
	out := closedSet(by)
	for _, n := range names {
		if ok, why := s.has(n); ok {
			out.present[n] = true
		} else {
			out.lost[n] = why
		}
	}
	return out
}

// drop removes the given labels: aggregation without(), ignoring().
func (s labelSet) drop(by string, names []string) labelSet {
	out := s.clone()
	for _, n := range names {
		delete(out.present, n)
		if _, ok := out.lost[n]; !ok {
			out.lost[n] = by
		}
	}
	return out
}

// add makes labels present: label_replace, count_values, group_left(L).
func (s labelSet) add(names ...string) labelSet {
	out := s.clone()
	for _, n := range names {
		out.present[n] = true
		delete(out.lost, n)
	}
	return out
}

// union is what either of two results may be: `or`. A label is known present only if
// both sides have it, and lost if either side lost it.
func union(a, b labelSet) labelSet {
	if a.scalar {
		return b
	}
	if b.scalar {
		return a
	}
	out := labelSet{open: a.open && b.open, present: map[string]bool{}, lost: map[string]string{}, closedBy: a.closedBy}
	if out.closedBy == "" {
		out.closedBy = b.closedBy
	}
	for n := range a.present {
		if ok, _ := b.has(n); ok {
			out.present[n] = true
		}
	}
	for n := range b.present {
		if ok, _ := a.has(n); ok {
			out.present[n] = true
		}
	}
	for _, side := range []labelSet{a, b} {
		for n, by := range side.lost {
			if _, ok := out.lost[n]; !ok {
				out.lost[n] = by
			}
		}
	}
	// A label one closed side cannot have is lost from that side's series.
	for _, pair := range [][2]labelSet{{a, b}, {b, a}} {
		x, y := pair[0], pair[1]
		if x.open {
			continue
		}
		for n := range y.present {
			if ok, why := x.has(n); !ok {
				if _, seen := out.lost[n]; !seen {
					out.lost[n] = why
				}
			}
		}
	}
	return out
}

// jobLabels tells the analysis what a selector's scrape job adds. It returns the
// labels every target of the job has, the labels none of them can have, and
// whether the job is known at all.
type jobLabels func(job string) (present, absent []string, known bool)

// labelEnv is what the label analysis knows beyond an expression: what scrape jobs
// give their series, and the recording rules whose output an expression may read.
type labelEnv struct {
	jobs    jobLabels
	records map[string][]*Rule
	depth   int
	// visiting and cache follow each recording rule once: rules that read each
	// other would otherwise cost exponential time.
	visiting map[string]bool
	cache    map[string]labelSet
}

// labels works out the labels of expr's result series.
func (env *labelEnv) labels(expr parser.Node) labelSet {
	switch e := expr.(type) {
	case *parser.NumberLiteral, *parser.StringLiteral:
		s := closedSet("a literal")
		s.scalar = true
		return s
	case *parser.ParenExpr:
		return env.labels(e.Expr)
	case *parser.UnaryExpr:
		return env.labels(e.Expr)
	case *parser.StepInvariantExpr:
		return env.labels(e.Expr)
	case *parser.SubqueryExpr:
		return env.labels(e.Expr)
	case *parser.MatrixSelector:
		return env.labels(e.VectorSelector)
	case *parser.VectorSelector:
		return env.selectorLabels(e)
	case *parser.AggregateExpr:
		return env.aggregateLabels(e)
	case *parser.Call:
		return env.callLabels(e)
	case *parser.BinaryExpr:
		return env.binaryLabels(e)
	}
	return openSet()
}

func (env *labelEnv) selectorLabels(vs *parser.VectorSelector) labelSet {
	s := openSet()
	if recorded, ok := env.recordedLabels(vs); ok {
		s = recorded
	}
	for _, m := range vs.LabelMatchers {
		if m.Type == labels.MatchEqual && m.Value != "" && m.Name != model.MetricNameLabel {
			s.present[m.Name] = true
			delete(s.lost, m.Name)
		}
	}
	job := equalityMatcher(vs, "job")
	if env.jobs == nil || job == "" {
		return s
	}
	present, absent, known := env.jobs(job)
	if !known {
		return s
	}
	for _, n := range present {
		s.present[n] = true
	}
	for _, n := range absent {
		if !s.present[n] {
			s.lost[n] = fmt.Sprintf("scrape job %q, whose targets have no %s label,", job, n)
		}
	}
	return s
}

// recordedLabels follows a selector of a recording rule's output to the rule: its
// series have the labels of its expression plus its static labels.
func (env *labelEnv) recordedLabels(vs *parser.VectorSelector) (labelSet, bool) {
	name := metricName(vs)
	rules := env.records[name]
	if len(rules) == 0 || env.depth >= maxRecordDepth || env.visiting[name] {
		return labelSet{}, false // a recording rule that reads itself: unknown
	}
	if s, ok := env.cache[name]; ok {
		return s.clone(), true
	}
	if env.visiting == nil {
		env.visiting, env.cache = map[string]bool{}, map[string]labelSet{}
	}
	env.visiting[name] = true
	env.depth++
	defer func() { env.depth--; delete(env.visiting, name) }()
	var s labelSet
	for i, r := range rules {
		rs := env.labels(r.Query)
		if rs.scalar {
			rs = closedSet(fmt.Sprintf("recording rule %s, a scalar,", r.Record))
		}
		names := make([]string, 0, len(r.Labels))
		for n := range r.Labels {
			names = append(names, n)
		}
		rs = rs.add(names...)
		if i == 0 {
			s = rs
		} else {
			s = union(s, rs)
		}
	}
	env.cache[name] = s
	return s.clone(), true
}

// maxRecordDepth bounds how far recording rules are followed; it also stops
// recording rules that read each other.
const maxRecordDepth = 8

// metricName is the name a selector selects, "" when it selects by other labels.
func metricName(vs *parser.VectorSelector) string {
	if vs.Name != "" {
		return vs.Name
	}
	return equalityMatcher(vs, model.MetricNameLabel)
}

// equalityMatcher returns the value of a name="value" matcher, "" when there is none.
func equalityMatcher(vs *parser.VectorSelector, name string) string {
	for _, m := range vs.LabelMatchers {
		if m.Name == name && m.Type == labels.MatchEqual {
			return m.Value
		}
	}
	return ""
}

func (env *labelEnv) aggregateLabels(e *parser.AggregateExpr) labelSet {
	inner := env.labels(e.Expr)
	switch e.Op {
	case parser.TOPK, parser.BOTTOMK, parser.LIMITK, parser.LIMIT_RATIO:
		return inner // these return input series unchanged
	}
	op := e.Op.String()
	var s labelSet
	switch {
	case e.Without:
		s = inner.drop(fmt.Sprintf("%s without (%s)", op, strings.Join(e.Grouping, ", ")), e.Grouping)
	case len(e.Grouping) > 0:
		s = inner.keepOnly(fmt.Sprintf("%s by (%s)", op, strings.Join(e.Grouping, ", ")), e.Grouping)
	default:
		s = closedSet(op + "(...) with no by clause")
	}
	if e.Op == parser.COUNT_VALUES {
		if l, ok := e.Param.(*parser.StringLiteral); ok {
			s = s.add(l.Val)
		}
	}
	return s
}

func (env *labelEnv) callLabels(e *parser.Call) labelSet {
	name := e.Func.Name
	switch name {
	case "time", "pi", "scalar":
		s := closedSet(name + "()")
		s.scalar = true
		return s
	case "vector":
		return closedSet("vector()")
	case "minute", "hour", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "month", "year":
		if len(e.Args) == 0 { // of vector(time()): no labels
			return closedSet(name + "()")
		}
	case "absent", "absent_over_time":
		s := closedSet(name + "() (it keeps only the labels of equality matchers)")
		if vs := selectorOf(e.Args[0]); vs != nil {
			// As the engine does: a label with more than one matcher is dropped too.
			matchers := map[string]int{}
			for _, m := range vs.LabelMatchers {
				matchers[m.Name]++
			}
			for _, m := range vs.LabelMatchers {
				if m.Type == labels.MatchEqual && m.Name != model.MetricNameLabel && matchers[m.Name] == 1 {
					s.present[m.Name] = true
				}
			}
		}
		return s
	case "label_replace", "label_join":
		inner := env.labels(e.Args[0])
		dst, ok := e.Args[1].(*parser.StringLiteral)
		if !ok {
			return inner
		}
		if name == "label_replace" {
			// An empty replacement deletes the label.
			if repl, ok := e.Args[2].(*parser.StringLiteral); ok && repl.Val == "" {
				return inner.drop(`label_replace() with an empty replacement`, []string{dst.Val})
			}
		}
		return inner.add(dst.Val)
	case "histogram_quantile":
		return env.labels(e.Args[1]).drop("histogram_quantile()", []string{"le"})
	}
	// Everything else returns the series of its first vector or matrix argument.
	for i, arg := range e.Args {
		if i < len(e.Func.ArgTypes) {
			switch e.Func.ArgTypes[i] {
			case parser.ValueTypeVector, parser.ValueTypeMatrix:
				return env.labels(arg)
			}
		}
	}
	if e.Func.ReturnType == parser.ValueTypeScalar {
		s := closedSet(name + "()")
		s.scalar = true
		return s
	}
	return openSet()
}

// selectorOf is the selector an argument reads directly, nil when the argument
// is anything more than a (range) selector.
func selectorOf(n parser.Node) *parser.VectorSelector {
	switch e := n.(type) {
	case *parser.ParenExpr:
		return selectorOf(e.Expr)
	case *parser.VectorSelector:
		return e
	case *parser.MatrixSelector:
		return selectorOf(e.VectorSelector)
	}
	return nil
}

func (env *labelEnv) binaryLabels(e *parser.BinaryExpr) labelSet {
	lhs, rhs := env.labels(e.LHS), env.labels(e.RHS)
	if lhs.scalar && rhs.scalar {
		return lhs
	}
	if lhs.scalar {
		return rhs
	}
	if rhs.scalar {
		return lhs
	}
	m := e.VectorMatching
	switch e.Op {
	case parser.LAND, parser.LUNLESS:
		return lhs
	case parser.LOR:
		return union(lhs, rhs)
	}
	if m == nil {
		return lhs
	}
	opName := fmt.Sprintf("%q", e.Op.String())
	switch m.Card {
	case parser.CardManyToOne:
		return lhs.add(m.Include...)
	case parser.CardOneToMany:
		return rhs.add(m.Include...)
	}
	if m.On {
		return lhs.keepOnly(fmt.Sprintf("%s on (%s)", opName, strings.Join(m.MatchingLabels, ", ")), m.MatchingLabels)
	}
	if len(m.MatchingLabels) > 0 {
		return lhs.drop(fmt.Sprintf("%s ignoring (%s)", opName, strings.Join(m.MatchingLabels, ", ")), m.MatchingLabels)
	}
	return lhs
}
