package lint

import "fmt"

// annotationsCheck wants the two annotations that every receiver shows: a one-line
// summary and a description that says what is wrong, where, and how bad.
type annotationsCheck struct{}

func (annotationsCheck) ID() string         { return "alerts/annotations" }
func (annotationsCheck) Severity() Severity { return Warning }
func (annotationsCheck) Doc() string        { return "An alert has summary and description annotations." }

func (annotationsCheck) CheckRule(_ *Context, r *Rule) []Problem {
	if r.Alert == "" {
		return nil
	}
	var out []Problem
	for _, name := range []string{"summary", "description"} {
		if r.Annotations[name] == "" {
			out = append(out, Problem{Pos: r.Pos, Message: fmt.Sprintf("alert has no %s annotation; receivers show it", name)})
		}
	}
	return out
}
