package lint

import "github.com/prometheus/prometheus/promql/parser"

// forCheck warns about alerts that fire on a single evaluation: one failed scrape or
// one slow probe then pages someone.
type forCheck struct{}

func (forCheck) ID() string         { return "alerts/for" }
func (forCheck) Severity() Severity { return Warning }
func (forCheck) Doc() string {
	return "An alert waits (`for`) before firing; heartbeats such as vector(1) are exempt."
}

func (forCheck) CheckRule(_ *Context, r *Rule) []Problem {
	if r.Alert == "" || r.For > 0 || isHeartbeat(r.Query) {
		return nil
	}
	return []Problem{{Pos: r.Pos, Message: "alert has no `for`, so a single bad scrape or evaluation fires it; add `for: 1m` or longer"}}
}

// isHeartbeat reports whether an expression reads no series, like the Watchdog's
// vector(1): it is meant to fire always.
func isHeartbeat(expr parser.Expr) bool {
	selectors := 0
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if _, ok := n.(*parser.VectorSelector); ok {
			selectors++
		}
		return nil
	})
	return selectors == 0
}
