package lint

import (
	"errors"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

// Rule is one alerting or recording rule with where its parts are in the file.
type Rule struct {
	File  string
	Group string
	// Alert or Record is set, never both.
	Alert, Record string
	Expr          string
	// Query is the parsed Expr.
	Query         parser.Expr
	For           time.Duration
	KeepFiringFor time.Duration
	// Labels are the rule's labels merged over its group's labels, as Prometheus
	// applies them.
	Labels      map[string]string
	Annotations map[string]string

	Pos           Position // the alert or record name
	ExprPos       Position
	ForPos        Position // zero when there is no for
	LabelPos      map[string]Position
	AnnotationPos map[string]Position

	disabled map[string]bool
}

// Name is the alert or record name.
func (r *Rule) Name() string {
	if r.Alert != "" {
		return r.Alert
	}
	return r.Record
}

// File is one parsed rule file.
type File struct {
	Path  string
	Rules []*Rule
	// Findings are the parse errors: whatever makes Prometheus refuse the file.
	Findings []Finding

	disabled map[string]bool
}

// promqlParser parses PromQL the way Prometheus does by default.
var promqlParser = parser.NewParser(parser.Options{})

// ParseFile parses a rule file exactly as Prometheus loads it (model/rulefmt,
// promql/parser, UTF-8 names), then once more as a YAML tree for line numbers and
// lint:disable comments. Rules with errors are reported and left out of Rules.
func ParseFile(path string, content []byte) *File {
	f := &File{Path: path, disabled: map[string]bool{}}
	for _, ids := range disableComments(string(content), fileDisableRE) {
		for _, id := range ids {
			f.disabled[id] = true
		}
	}
	groups, errs := rulefmt.Parse(content, false, model.UTF8Validation, promqlParser, slog.New(slog.DiscardHandler))

	var doc yaml.Node
	tree := []groupNode(nil)
	if yaml.Unmarshal(content, &doc) == nil {
		tree = groupNodes(&doc)
	}

	broken := map[[2]int]bool{} // (group, rule) pairs with errors
	for _, err := range errs {
		finding, gi, ri := f.parseFinding(err, groups, tree)
		// rulefmt decodes twice and may report one mistake twice.
		if !slices.Contains(f.Findings, finding) {
			f.Findings = append(f.Findings, finding)
		}
		if gi >= 0 && ri >= 0 {
			broken[[2]int{gi, ri}] = true
		}
	}
	if groups == nil {
		return f
	}
	for gi, g := range groups.Groups {
		for ri, rr := range g.Rules {
			if broken[[2]int{gi, ri}] || gi >= len(tree) || ri >= len(tree[gi].rules) {
				continue
			}
			query, err := promqlParser.ParseExpr(rr.Expr)
			if err != nil {
				continue // reported above; rulefmt parses every expression
			}
			r := &Rule{
				File: path, Group: g.Name, Alert: rr.Alert, Record: rr.Record, Expr: rr.Expr, Query: query,
				For: time.Duration(rr.For), KeepFiringFor: time.Duration(rr.KeepFiringFor),
				Labels: map[string]string{}, Annotations: rr.Annotations,
			}
			for k, v := range g.Labels {
				r.Labels[k] = v
			}
			for k, v := range rr.Labels {
				r.Labels[k] = v
			}
			tree[gi].rules[ri].fill(r)
			f.Rules = append(f.Rules, r)
		}
	}
	return f
}

// groupNode and ruleNode are the YAML nodes of a group and its rules, by index.
type groupNode struct {
	node  *yaml.Node
	name  string
	rules []ruleNode
}

type ruleNode struct {
	node   *yaml.Node
	fields map[string][2]*yaml.Node // key → (key node, value node)
}

func groupNodes(doc *yaml.Node) []groupNode {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	groupsSeq := mappingValue(doc.Content[0], "groups")
	if groupsSeq == nil || groupsSeq.Kind != yaml.SequenceNode {
		return nil
	}
	var out []groupNode
	for _, g := range groupsSeq.Content {
		gn := groupNode{node: g}
		if name := mappingValue(g, "name"); name != nil {
			gn.name = name.Value
		}
		if rules := mappingValue(g, "rules"); rules != nil && rules.Kind == yaml.SequenceNode {
			for _, r := range rules.Content {
				rn := ruleNode{node: r, fields: map[string][2]*yaml.Node{}}
				if r.Kind == yaml.MappingNode {
					for i := 0; i+1 < len(r.Content); i += 2 {
						rn.fields[r.Content[i].Value] = [2]*yaml.Node{r.Content[i], r.Content[i+1]}
					}
				}
				gn.rules = append(gn.rules, rn)
			}
		}
		out = append(out, gn)
	}
	return out
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func pos(n *yaml.Node) Position {
	if n == nil {
		return Position{}
	}
	return Position{Line: n.Line, Column: n.Column}
}

// fill sets a rule's positions and its lint:disable comments from its YAML node.
func (rn ruleNode) fill(r *Rule) {
	r.Pos = pos(rn.node)
	if f, ok := rn.fields["alert"]; ok {
		r.Pos = pos(f[1])
	} else if f, ok := rn.fields["record"]; ok {
		r.Pos = pos(f[1])
	}
	r.ExprPos = pos(rn.fields["expr"][1])
	r.ForPos = pos(rn.fields["for"][1])
	r.LabelPos = keyPositions(rn.fields["labels"][1])
	r.AnnotationPos = keyPositions(rn.fields["annotations"][1])
	r.disabled = map[string]bool{}
	for _, ids := range disableComments(ruleComments(rn.node), ruleDisableRE) {
		for _, id := range ids {
			r.disabled[id] = true
		}
	}
}

func keyPositions(m *yaml.Node) map[string]Position {
	out := map[string]Position{}
	if m == nil || m.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		out[m.Content[i].Value] = pos(m.Content[i])
	}
	return out
}

// ruleComments are the comments above a rule and on its lines. Foot comments are
// left out: YAML hands a comment that stands above the next rule to the previous
// one's foot when a blank line separates them.
func ruleComments(n *yaml.Node) string {
	var b strings.Builder
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		b.WriteString(n.HeadComment + "\n" + n.LineComment + "\n")
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

var (
	ruleDisableRE = regexp.MustCompile(`#\s*alertrouter\s+lint:disable\s+([^\s#]+)`)
	fileDisableRE = regexp.MustCompile(`#\s*alertrouter\s+lint:file-disable\s+([^\s#]+)`)
)

// disableComments returns the check IDs of each matching comment in text.
func disableComments(text string, re *regexp.Regexp) [][]string {
	var out [][]string
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		out = append(out, strings.Split(m[1], ","))
	}
	return out
}

var (
	// rulefmt's errors begin with the YAML position when it knows one.
	posPrefixRE = regexp.MustCompile(`^(\d+):(\d+): `)
	// yaml.v3's errors carry "line N".
	yamlLineRE = regexp.MustCompile(`line (\d+)`)
	// Errors about a label or annotation name the key.
	fieldKeyRE = regexp.MustCompile(`^(label|annotation) "([^"]*)"`)
	nameInMsg  = regexp.MustCompile(`invalid (label|annotation) name: (.*)$`)
)

// parseFinding turns one rulefmt error into a finding at the best position known,
// and returns which group and rule (by index) it belongs to, -1 when none.
func (f *File) parseFinding(err error, groups *rulefmt.RuleGroups, tree []groupNode) (Finding, int, int) {
	finding := Finding{File: f.Path, Severity: Error, Check: parseCheck{}.ID(), Message: err.Error()}
	gi, ri := -1, -1
	var rerr *rulefmt.Error
	switch {
	case errors.As(err, &rerr):
		gi, ri = ruleFinding(&finding, rerr, groups, tree)
		var perr parser.ParseErrors
		if errors.As(err, &perr) {
			finding.Check = syntaxCheck{}.ID()
		}
	case posPrefixRE.MatchString(finding.Message):
		finding.Position, finding.Message = cutPosition(finding.Message)
		if finding.Line == 0 { // rulefmt reads group positions from a node it never fills
			finding.Position = groupPos(finding.Message, tree)
		}
	case yamlLineRE.MatchString(finding.Message):
		finding.Line, _ = strconv.Atoi(yamlLineRE.FindStringSubmatch(finding.Message)[1])
	default:
		// Values that fail to decode, such as a duration of "5 minutes", come without
		// a position: find the value the message quotes.
		finding.Position = quotedValuePos(finding.Message, tree)
	}
	if finding.Line == 0 {
		finding.Line = 1 // every finding names a line, even for "the file is empty"
	}
	if finding.Column == 0 {
		finding.Column = 1
	}
	return finding, gi, ri
}

// ruleFinding places an error about one rule: at the position rulefmt gives, else at
// the label or annotation it names, else at the rule. It returns the rule's indexes.
func ruleFinding(finding *Finding, rerr *rulefmt.Error, groups *rulefmt.RuleGroups, tree []groupNode) (gi, ri int) {
	gi, ri = -1, rerr.Rule-1
	finding.Rule = rerr.RuleName
	if groups != nil {
		gi = slices.IndexFunc(groups.Groups, func(g rulefmt.RuleGroup) bool { return g.Name == rerr.Group })
	}
	var rn *ruleNode
	if gi >= 0 && gi < len(tree) && ri >= 0 && ri < len(tree[gi].rules) {
		rn = &tree[gi].rules[ri]
		finding.Position = pos(rn.node)
	}
	msg := rerr.Err.Error()
	if posPrefixRE.MatchString(msg) {
		var p Position
		p, msg = cutPosition(msg)
		if p.Line > 0 { // 0:0 is a field that is missing
			finding.Position = p
		}
		// A second position follows when both record and alert are at fault.
		_, msg = cutPosition(msg)
	} else if rn != nil {
		if m := fieldKeyRE.FindStringSubmatch(msg); m != nil {
			finding.Position = keyPos(rn, m[1], m[2])
		} else if m := nameInMsg.FindStringSubmatch(msg); m != nil {
			finding.Position = keyPos(rn, m[1], m[2])
		}
	}
	finding.Message = msg
	if rerr.Group != "" {
		finding.Message = "group " + strconv.Quote(rerr.Group) + ": " + msg
	}
	return gi, ri
}

// cutPosition takes a leading "line:col: " off msg.
func cutPosition(msg string) (Position, string) {
	m := posPrefixRE.FindStringSubmatch(msg)
	if m == nil {
		return Position{}, msg
	}
	line, _ := strconv.Atoi(m[1])
	col, _ := strconv.Atoi(m[2])
	return Position{Line: line, Column: col}, strings.TrimPrefix(msg, m[0])
}

var repeatedGroupRE = regexp.MustCompile(`groupname: "(.*)" is repeated`)

// groupPos finds the group that a group-level error is about: the second of a
// repeated name, or the first without a name.
func groupPos(msg string, tree []groupNode) Position {
	name, nth := "", 1
	if m := repeatedGroupRE.FindStringSubmatch(msg); m != nil {
		name, nth = m[1], 2
	}
	for _, g := range tree {
		if g.name == name {
			if nth--; nth == 0 {
				return pos(g.node)
			}
		}
	}
	return Position{}
}

var quotedRE = regexp.MustCompile(`"([^"]+)"`)

// quotedValuePos is the position of the first rule field whose value the message
// quotes, zero when there is none.
func quotedValuePos(msg string, tree []groupNode) Position {
	for _, m := range quotedRE.FindAllStringSubmatch(msg, -1) {
		for _, g := range tree {
			for _, rn := range g.rules {
				for _, kv := range rn.fields {
					if kv[1].Kind == yaml.ScalarNode && kv[1].Value == m[1] {
						return pos(kv[1])
					}
				}
			}
		}
	}
	return Position{}
}

func keyPos(rn *ruleNode, kind, key string) Position {
	field := "labels"
	if kind == "annotation" {
		field = "annotations"
	}
	if p, ok := keyPositions(rn.fields[field][1])[key]; ok {
		return p
	}
	return pos(rn.node)
}
