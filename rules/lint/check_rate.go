package lint

import "fmt"

// rateCheck flags rate() of a series that is not a counter by its name: a gauge's
// rate is meaningless because every drop reads as a counter reset.
type rateCheck struct{}

func (rateCheck) ID() string         { return "promql/rate" }
func (rateCheck) Severity() Severity { return Warning }
func (rateCheck) Doc() string {
	return "rate, irate and increase read counters (names ending _total, _count, _sum, _bucket); gauges want deriv or delta."
}

func (rateCheck) CheckRule(_ *Context, r *Rule) []Problem {
	var out []Problem
	for _, rc := range rateCalls(r.Query) {
		name := metricName(rc.selector)
		if name == "" || isRecorded(name) || looksLikeCounter(name) {
			continue
		}
		out = append(out, Problem{Pos: r.ExprPos, Message: fmt.Sprintf(
			"%s() of %s, which is not a counter by its name: each drop of a gauge reads as a counter reset; use deriv() or delta() for gauges",
			rc.call.Func.Name, name)})
	}
	return out
}
