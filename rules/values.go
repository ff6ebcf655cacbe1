package rules

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"text/template"

	"github.com/prometheus/common/model"
)

// Values are the parameter values set for an export, keyed PACK.NAME. A parameter
// not in Values takes its default.
type Values map[string]string

// ParseSets turns --set KEY=VALUE arguments into Values, checking each key and value
// against the packs' parameters.
func ParseSets(sets []string) (Values, error) {
	v := Values{}
	for _, s := range sets {
		key, value, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("--set %q: want KEY=VALUE, such as gpu.temp_warning=85", s)
		}
		p, ok := lookupParam(key)
		if !ok {
			return nil, fmt.Errorf("--set %s: unknown parameter; `alertrouter rules list` shows them all", key)
		}
		if _, err := p.parse(value); err != nil {
			return nil, fmt.Errorf("--set %s: %w", key, err)
		}
		v[key] = value
	}
	return v, nil
}

func lookupParam(key string) (Param, bool) {
	packName, _, _ := strings.Cut(key, ".")
	p, ok := Lookup(packName)
	if !ok {
		return Param{}, false
	}
	for _, param := range p.Params {
		if param.Key == key {
			return param, true
		}
	}
	return Param{}, false
}

// parse checks a raw value against the parameter's type and returns what the
// templates see.
func (p Param) parse(raw string) (any, error) {
	switch p.Type {
	case Label:
		// The value lands inside a PromQL string and a YAML string: keep it to what
		// job names are made of.
		if raw == "" || strings.ContainsAny(raw, "\"'\\`{}$\n\r") {
			return nil, fmt.Errorf("%q is not a usable label value (empty, or holds quotes, backslashes, braces, $ or newlines)", raw)
		}
		return raw, nil
	case Duration:
		d, err := model.ParseDuration(raw)
		if err != nil {
			return nil, fmt.Errorf("%q is not a Prometheus duration such as 30s, 2m or 1h", raw)
		}
		return d, nil
	case Number:
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%q is not a number", raw)
		}
		return number(f), nil
	case Integer:
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", raw)
		}
		return n, nil
	}
	return nil, fmt.Errorf("unknown parameter type %q", p.Type)
}

// number prints the way a person writes a threshold: 0.05, 80, never 8e+01.
type number float64

func (n number) String() string { return strconv.FormatFloat(float64(n), 'f', -1, 64) }

// Rendered is a pack rendered with a set of values.
type Rendered struct {
	Rules []byte // the rule file
	Tests []byte // the promtool unit-test file; it loads the rules from RuleFile
}

// Export writes tests in tests/ beside the rules, so that a Prometheus rule_files
// glob such as rules/*.yml never loads a test file.
const (
	testsDir          = "tests"
	ruleFileFromTests = "../%s.yml"
)

// Render renders the pack's rules and tests with the given values; parameters not
// in values take their defaults. The rules are checked the way Prometheus parses them.
func (p *Pack) Render(values Values) (Rendered, error) {
	data := map[string]any{"rule_file": fmt.Sprintf(ruleFileFromTests, p.Name)}
	packData := map[string]any{}
	for _, param := range p.Params {
		raw, ok := values[param.Key]
		if !ok {
			raw = param.Default
		}
		v, err := param.parse(raw)
		if err != nil {
			return Rendered{}, fmt.Errorf("%s: %w", param.Key, err)
		}
		packData[param.Name] = v
	}
	data[p.Name] = packData

	var r Rendered
	var err error
	if r.Rules, err = execute(p.rules, data); err != nil {
		return Rendered{}, err
	}
	if r.Tests, err = execute(p.tests, data); err != nil {
		return Rendered{}, err
	}
	if _, errs := parseRules(r.Rules); len(errs) > 0 {
		return Rendered{}, fmt.Errorf("pack %s renders to rules that Prometheus rejects: %w", p.Name, errors.Join(errs...))
	}
	return r, nil
}

func execute(t *template.Template, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
