package receivers

import (
	"embed"
	"fmt"
	tmplhtml "html/template"
	"strings"
	tmpltext "text/template"
	"time"
	"unicode/utf8"

	"github.com/prometheus/alertmanager/template"
)

//go:embed templates/default.tmpl
var defaultTemplates embed.FS

// TimeFormat is how templates show times: in global.timezone, with the zone's name.
const TimeFormat = "2006-01-02 15:04:05 MST"

// Templates renders notifications with Alertmanager's template package, so that users keep
// the templates they have. It loads Alertmanager's defaults, then alertrouter's
// (templates/default.tmpl), then the user's files.
type Templates struct {
	tmpl *template.Template
}

// NewTemplates loads the user's template files (globs) and shows times in loc. An error
// names the file and line of a template that does not parse.
func NewTemplates(globs []string, loc *time.Location) (*Templates, error) {
	funcs := map[string]any{
		"localtime": func(t time.Time) string { return t.In(loc).Format(TimeFormat) },
	}
	t, err := template.FromGlobs(nil, func(text *tmpltext.Template, html *tmplhtml.Template) {
		text.Funcs(funcs)
		html.Funcs(funcs)
	})
	if err != nil {
		return nil, err
	}
	f, err := defaultTemplates.Open("templates/default.tmpl")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := t.Parse(f); err != nil {
		return nil, fmt.Errorf("alertrouter default templates: %w", err)
	}
	for _, g := range globs {
		if err := t.FromGlob(g); err != nil {
			return nil, err
		}
	}
	return &Templates{tmpl: t}, nil
}

// Text renders a text template string (a receiver's title, text, content...).
func (t *Templates) Text(s string, d *template.Data) (string, error) {
	return t.tmpl.ExecuteTextString(s, d)
}

// HTML renders an HTML template string: values are escaped by html/template.
func (t *Templates) HTML(s string, d *template.Data) (string, error) {
	return t.tmpl.ExecuteHTMLString(s, d)
}

// Check renders s against a sample notification, so that config loading rejects a
// template string that does not parse or names an undefined template.
func (t *Templates) Check(s string, html bool) error {
	sample := &template.Data{
		Receiver: "check", Status: "firing",
		Alerts:      template.Alerts{{Status: "firing", Labels: template.KV{"alertname": "Check"}, StartsAt: time.Unix(0, 0)}},
		GroupLabels: template.KV{}, CommonLabels: template.KV{"alertname": "Check"}, CommonAnnotations: template.KV{},
	}
	var err error
	if html {
		_, err = t.HTML(s, sample)
	} else {
		_, err = t.Text(s, sample)
	}
	return err
}

// MapValues returns a copy of d whose label and annotation values went through escape:
// label values are data, not markup, in whatever format a receiver renders.
func MapValues(d *template.Data, escape func(string) string) *template.Data {
	kv := func(in template.KV) template.KV {
		out := make(template.KV, len(in))
		for k, v := range in {
			out[k] = escape(v)
		}
		return out
	}
	c := *d
	c.GroupLabels, c.CommonLabels, c.CommonAnnotations = kv(d.GroupLabels), kv(d.CommonLabels), kv(d.CommonAnnotations)
	c.Alerts = make(template.Alerts, len(d.Alerts))
	for i, a := range d.Alerts {
		a.Labels, a.Annotations = kv(a.Labels), kv(a.Annotations)
		c.Alerts[i] = a
	}
	return &c
}

// Truncated renders d with render and, when the result is longer than limit bytes, renders
// it again with fewer alerts and a line saying how many were left out.
func Truncated(d *template.Data, limit int, render func(*template.Data) (string, error)) (string, error) {
	out, err := render(d)
	if err != nil || len(out) <= limit {
		return out, err
	}
	// Find the most alerts that fit, with room for the note.
	lo, hi := 0, len(d.Alerts)-1
	best := ""
	for lo <= hi {
		n := (lo + hi) / 2
		c := *d
		c.Alerts = d.Alerts[:n]
		s, err := render(&c)
		if err != nil {
			return "", err
		}
		s = strings.TrimRight(s, "\n") + fmt.Sprintf("\n... and %d more alerts", len(d.Alerts)-n)
		if len(s) <= limit {
			best, lo = s, n+1
		} else {
			hi = n - 1
		}
	}
	if best == "" {
		// Not even the note fits under the title: cut bytes, on a rune boundary.
		return truncateBytes(out, limit), nil
	}
	return best, nil
}

func truncateBytes(s string, limit int) string {
	const mark = "…"
	if limit <= len(mark) {
		return ""
	}
	s = s[:limit-len(mark)]
	for len(s) > 0 && !utf8.ValidString(s) { // drop a cut multi-byte rune
		s = s[:len(s)-1]
	}
	return s + mark
}
