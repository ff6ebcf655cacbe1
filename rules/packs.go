// Package rules holds the Prometheus rule packs that alertrouter ships: rule file
// templates with promtool unit tests beside them, the values a site may change, and
// the export that renders both. The linter lives in rules/lint.
package rules

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"sync"
	"text/template"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

//go:embed packs
var packFS embed.FS

// Pack templates use ${ } so that they can hold Prometheus's own {{ }} templates
// untouched; PromQL never contains "${".
const leftDelim, rightDelim = "${", "}"

// Pack is one shipped rule file with its unit tests and parameters.
type Pack struct {
	Name        string
	Description string
	Params      []Param
	// Alerts are the alert names the pack defines, in file order.
	Alerts []string

	rules, tests *template.Template
}

// Param is a value a site may set on export, as PACK.NAME=VALUE.
type Param struct {
	Key     string // PACK.NAME, as given to --set
	Name    string
	Type    ParamType
	Default string
	Doc     string
}

// ParamType says how a parameter's value is checked and rendered.
type ParamType string

// The parameter types.
const (
	Label    ParamType = "label"    // a label value inside a PromQL string, such as a job name
	Duration ParamType = "duration" // a Prometheus duration: 30s, 2m, 1h
	Number   ParamType = "number"   // a threshold
	Integer  ParamType = "integer"  // a count
)

type manifest map[string]struct {
	Description string `yaml:"description"`
	Params      []struct {
		Name    string    `yaml:"name"`
		Type    ParamType `yaml:"type"`
		Default string    `yaml:"default"`
		Doc     string    `yaml:"doc"`
	} `yaml:"params"`
}

// packs are parsed from the embedded files on first use. A broken pack is a bug that
// every test catches, so loading panics rather than making every caller handle it.
var packs = sync.OnceValue(mustLoadPacks)

// Packs returns the shipped packs, sorted by name.
func Packs() []*Pack { return packs() }

// Lookup returns the pack with the given name.
func Lookup(name string) (*Pack, bool) {
	ps := packs()
	i := slices.IndexFunc(ps, func(p *Pack) bool { return p.Name == name })
	if i < 0 {
		return nil, false
	}
	return ps[i], true
}

// Names returns the names of the shipped packs, sorted, from their manifest alone: every
// command lists them in its flags, and parsing the packs themselves (PromQL included) took
// every start 17 ms and 5 MB that serve has no use for.
func Names() []string {
	m, err := readManifest(packFS)
	if err != nil {
		panic(fmt.Sprintf("rules: embedded packs: %v", err))
	}
	return slices.Sorted(maps.Keys(m))
}

func mustLoadPacks() []*Pack {
	ps, err := loadPacks(packFS)
	if err != nil {
		panic(fmt.Sprintf("rules: embedded packs: %v", err))
	}
	return ps
}

func readManifest(fsys fs.FS) (manifest, error) {
	raw, err := fs.ReadFile(fsys, "packs/packs.yml")
	if err != nil {
		return nil, err
	}
	var m manifest
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("packs.yml: %w", err)
	}
	return m, nil
}

func loadPacks(fsys fs.FS) ([]*Pack, error) {
	m, err := readManifest(fsys)
	if err != nil {
		return nil, err
	}
	var ps []*Pack
	for name, entry := range m {
		p := &Pack{Name: name, Description: entry.Description}
		for _, e := range entry.Params {
			param := Param{Key: name + "." + e.Name, Name: e.Name, Type: e.Type, Default: e.Default, Doc: e.Doc}
			if _, err := param.parse(e.Default); err != nil {
				return nil, fmt.Errorf("packs.yml: default of %s: %w", param.Key, err)
			}
			p.Params = append(p.Params, param)
		}
		if p.rules, err = parseTemplate(fsys, "packs/"+name+".yml"); err != nil {
			return nil, err
		}
		if p.tests, err = parseTemplate(fsys, "packs/"+name+"_test.yml"); err != nil {
			return nil, err
		}
		rendered, err := p.Render(nil)
		if err != nil {
			return nil, fmt.Errorf("pack %s with its defaults: %w", name, err)
		}
		groups, errs := parseRules(rendered.Rules)
		if len(errs) > 0 {
			return nil, fmt.Errorf("pack %s: %w", name, errs[0])
		}
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				if r.Alert != "" {
					p.Alerts = append(p.Alerts, r.Alert)
				}
			}
		}
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	return ps, nil
}

func parseTemplate(fsys fs.FS, name string) (*template.Template, error) {
	text, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	t, err := template.New(name).Delims(leftDelim, rightDelim).Option("missingkey=error").Funcs(testFuncs).Parse(string(text))
	if err != nil {
		return nil, err
	}
	return t, nil
}

// parseRules parses a rule file the way Prometheus does.
func parseRules(content []byte) (*rulefmt.RuleGroups, []error) {
	return rulefmt.Parse(content, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
}
