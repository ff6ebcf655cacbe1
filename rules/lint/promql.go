package lint

import (
	"strings"

	"github.com/prometheus/prometheus/promql/parser"
)

// rateFuncs are the functions that read a counter over a range.
var rateFuncs = map[string]bool{"rate": true, "irate": true, "increase": true}

// rateCall is one rate(), irate() or increase() of a range selector.
type rateCall struct {
	call     *parser.Call
	matrix   *parser.MatrixSelector
	selector *parser.VectorSelector
}

// rateCalls finds the rate-like calls of an expression that read a range selector.
func rateCalls(expr parser.Expr) []rateCall {
	var out []rateCall
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		call, ok := n.(*parser.Call)
		if !ok || !rateFuncs[call.Func.Name] || len(call.Args) == 0 {
			return nil
		}
		if ms, ok := unwrapParens(call.Args[0]).(*parser.MatrixSelector); ok {
			if vs, ok := ms.VectorSelector.(*parser.VectorSelector); ok {
				out = append(out, rateCall{call: call, matrix: ms, selector: vs})
			}
		}
		return nil
	})
	return out
}

func unwrapParens(e parser.Expr) parser.Expr {
	for {
		p, ok := e.(*parser.ParenExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

// counterSuffixes are the name endings of counters: OpenMetrics _total, and the
// _count, _sum and _bucket series of histograms and summaries.
var counterSuffixes = []string{"_total", "_count", "_sum", "_bucket"}

func looksLikeCounter(name string) bool {
	for _, s := range counterSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// isRecorded reports whether a name follows the level:metric:operations naming of
// recording rules, whose type the linter cannot tell from the name.
func isRecorded(name string) bool { return strings.Contains(name, ":") }
