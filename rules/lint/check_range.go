package lint

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"
)

// rangeCheck wants rate() and friends to see at least four scrapes: with fewer, one
// missed or late scrape leaves a single sample and the alert's series vanishes.
type rangeCheck struct{}

func (rangeCheck) ID() string         { return "promql/range" }
func (rangeCheck) Severity() Severity { return Warning }
func (rangeCheck) Doc() string {
	return "rate, irate and increase cover at least 4 scrape intervals of the job they read."
}

// minScrapesInRange is the usual advice: a range of at least 4 scrape intervals.
const minScrapesInRange = 4

func (rangeCheck) CheckRule(ctx *Context, r *Rule) []Problem {
	var out []Problem
	for _, rc := range rateCalls(r.Query) {
		interval := ctx.scrapeInterval(equalityMatcher(rc.selector, "job"))
		if want := minScrapesInRange * interval; rc.matrix.Range < want {
			out = append(out, Problem{Pos: r.ExprPos, Message: fmt.Sprintf(
				"%s(%s) covers fewer than %d scrapes (scrape interval %s): use a range of at least %s",
				rc.call.Func.Name, rc.matrix, minScrapesInRange, model.Duration(interval), model.Duration(want.Round(time.Second)))})
		}
	}
	return out
}
