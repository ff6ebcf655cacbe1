package lint

import (
	"fmt"
	"sort"
	"strings"
)

// duplicateCheck finds rules with the same name and labels: Prometheus evaluates
// both, and their alerts or series collide.
type duplicateCheck struct{}

func (duplicateCheck) ID() string         { return "rule/duplicate" }
func (duplicateCheck) Severity() Severity { return Error }
func (duplicateCheck) Doc() string {
	return "No two alerts share a name and labels, no two recording rules a name, labels and expression, across all the files linted together."
}

func (c duplicateCheck) CheckSet(_ *Context, rules []*Rule) []Finding {
	first := map[string]*Rule{}
	var out []Finding
	for _, r := range rules {
		key := ruleKey(r)
		prev, ok := first[key]
		if !ok {
			first[key] = r
			continue
		}
		kind := "alert"
		if r.Record != "" {
			kind = "recording rule"
		}
		out = append(out, Finding{
			File: r.File, Position: r.Pos, Rule: r.Name(),
			Message: fmt.Sprintf("%s %s with the same labels is already defined at %s:%d", kind, r.Name(), prev.File, prev.Pos.Line),
		})
	}
	return out
}

func ruleKey(r *Rule) string {
	keys := make([]string, 0, len(r.Labels))
	for k, v := range r.Labels {
		keys = append(keys, k+"\x00"+v)
	}
	sort.Strings(keys)
	key := r.Alert + "\x01" + r.Record + "\x01" + strings.Join(keys, "\x01")
	if r.Record != "" {
		// One recorded name over several selectors (job="a" in one rule, job="b" in
		// another) is a common pattern whose series do not collide.
		key += "\x01" + r.Query.String()
	}
	return key
}
