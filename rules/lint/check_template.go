package lint

import (
	"fmt"
	"sort"
	"strings"
	"text/template/parse"
)

// templateCheck finds templates that expand to nothing: $labels.X where the
// expression cannot produce X (Prometheus's $labels are the series' labels, not the
// rule's), and $value in a label, which makes every new value a new alert.
type templateCheck struct{}

func (templateCheck) ID() string         { return "alerts/template" }
func (templateCheck) Severity() Severity { return Error }
func (templateCheck) Doc() string {
	return "Templates use only labels the expression produces, and labels never use $value."
}

func (templateCheck) CheckRule(ctx *Context, r *Rule) []Problem {
	if r.Alert == "" {
		return nil
	}
	result := ctx.resultLabels(r.Query)
	var out []Problem
	check := func(kind, key, text string, pos Position) {
		if !strings.Contains(text, "$labels") && !strings.Contains(text, "$value") {
			return
		}
		refs, ok := templateRefs(text)
		if !ok {
			return // rule/parse reports templates that do not parse
		}
		for _, name := range refs.labels {
			if has, why := result.has(name); !has {
				out = append(out, Problem{Pos: pos, Message: fmt.Sprintf(
					"%s %s uses $labels.%s, but %s drops that label, so it expands to nothing", kind, key, name, why)})
			}
		}
		if kind == "label" && refs.value {
			out = append(out, Problem{Pos: pos, Message: fmt.Sprintf(
				"label %s uses $value: every new value makes a new alert, which resolves the old one; put the value in an annotation", key)})
		}
	}
	for _, key := range sortedKeys(r.Labels) {
		check("label", key, r.Labels[key], r.LabelPos[key])
	}
	for _, key := range sortedKeys(r.Annotations) {
		check("annotation", key, r.Annotations[key], r.AnnotationPos[key])
	}
	return out
}

// templateDefs are the variables Prometheus defines before every alert template.
const templateDefs = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"

type templateUse struct {
	labels []string // X of $labels.X and index $labels "X", in order
	value  bool     // $value
}

// templateRefs finds the labels and the value a template reads. Functions are not
// checked here: rule/parse parses templates with Prometheus's own functions.
func templateRefs(text string) (templateUse, bool) {
	t := parse.New("alert")
	t.Mode = parse.SkipFuncCheck
	trees := map[string]*parse.Tree{}
	if _, err := t.Parse(templateDefs+text, "{{", "}}", trees); err != nil {
		return templateUse{}, false
	}
	var use templateUse
	seen := map[string]bool{}
	addLabel := func(name string) {
		if !seen[name] {
			seen[name] = true
			use.labels = append(use.labels, name)
		}
	}
	for _, tree := range trees {
		walkTemplate(tree.Root, func(n parse.Node) {
			switch n := n.(type) {
			case *parse.VariableNode:
				switch {
				case n.Ident[0] == "$labels" && len(n.Ident) > 1:
					addLabel(n.Ident[1])
				case n.Ident[0] == "$value":
					use.value = true
				}
			case *parse.CommandNode:
				// index $labels "name"
				if len(n.Args) == 3 {
					fn, ok1 := n.Args[0].(*parse.IdentifierNode)
					v, ok2 := n.Args[1].(*parse.VariableNode)
					s, ok3 := n.Args[2].(*parse.StringNode)
					if ok1 && ok2 && ok3 && fn.Ident == "index" && len(v.Ident) == 1 && v.Ident[0] == "$labels" {
						addLabel(s.Text)
					}
				}
			}
		})
	}
	return use, true
}

func walkTemplate(n parse.Node, visit func(parse.Node)) {
	if n == nil {
		return
	}
	visit(n)
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkTemplate(c, visit)
		}
	case *parse.ActionNode:
		walkTemplate(n.Pipe, visit)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walkTemplate(c, visit)
		}
	case *parse.CommandNode:
		for _, c := range n.Args {
			walkTemplate(c, visit)
		}
	case *parse.ChainNode:
		walkTemplate(n.Node, visit)
	case *parse.IfNode:
		walkBranch(&n.BranchNode, visit)
	case *parse.RangeNode:
		walkBranch(&n.BranchNode, visit)
	case *parse.WithNode:
		walkBranch(&n.BranchNode, visit)
	case *parse.TemplateNode:
		walkTemplate(n.Pipe, visit)
	}
}

func walkBranch(b *parse.BranchNode, visit func(parse.Node)) {
	walkTemplate(b.Pipe, visit)
	walkTemplate(b.List, visit)
	if b.ElseList != nil {
		walkTemplate(b.ElseList, visit)
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
