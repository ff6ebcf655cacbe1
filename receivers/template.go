package receivers

import (
	"embed"
	"fmt"
	tmplhtml "html/template"
	"slices"
	tmpltext "text/template"
	"time"

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

// Check renders s against sample notifications (firing, resolved, several alerts), so
// that config loading rejects a template string that does not parse or calls an undefined
// template on any of those paths.
func (t *Templates) Check(s string, html bool) error {
	start := time.Unix(0, 0)
	alert := func(name, status string) template.Alert {
		a := template.Alert{Status: status, Labels: template.KV{"alertname": name, "severity": "warning"},
			Annotations: template.KV{"summary": "check"}, StartsAt: start}
		if status == "resolved" {
			a.EndsAt = start.Add(time.Minute)
		}
		return a
	}
	for _, d := range []*template.Data{
		{Status: "firing", Alerts: template.Alerts{alert("Check", "firing")}},
		{Status: "resolved", Alerts: template.Alerts{alert("Check", "resolved")}},
		{Status: "firing", Alerts: template.Alerts{alert("Check", "firing"), alert("Other", "firing"), alert("Check", "resolved")}},
	} {
		d.Receiver, d.GroupLabels, d.CommonAnnotations = "check", template.KV{}, template.KV{}
		d.CommonLabels = template.KV{"severity": "warning"}
		var err error
		if html {
			_, err = t.HTML(s, d)
		} else {
			_, err = t.Text(s, d)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// TemplateField is a receiver config field that holds a template string.
type TemplateField struct {
	Name string // the YAML key
	Text string
	HTML bool
}

// CheckFields runs Check on each field, and names the first that fails.
func (t *Templates) CheckFields(fields ...TemplateField) error {
	for _, f := range fields {
		if err := t.Check(f.Text, f.HTML); err != nil {
			return &FieldError{Field: f.Name, Msg: err.Error()}
		}
	}
	return nil
}

// MapValues returns a copy of d whose labels and annotations (names and values) and URLs
// went through escape: they are data, not markup, in whatever format a receiver renders.
func MapValues(d *template.Data, escape func(string) string) *template.Data {
	return MapData(d, escape, escape)
}

// MapData is MapValues with another escape for the URLs (the external and generator
// URLs), which a receiver may need to keep usable as links.
func MapData(d *template.Data, escape, escapeURL func(string) string) *template.Data {
	kv := func(in template.KV) template.KV {
		out := make(template.KV, len(in))
		for k, v := range in {
			if slices.Contains(LinkAnnotations, k) {
				out[k] = escapeURL(v) // ours: a link target
				continue
			}
			out[escape(k)] = escape(v)
		}
		return out
	}
	c := *d
	c.GroupLabels, c.CommonLabels, c.CommonAnnotations = kv(d.GroupLabels), kv(d.CommonLabels), kv(d.CommonAnnotations)
	c.ExternalURL = escapeURL(d.ExternalURL)
	c.Alerts = make(template.Alerts, len(d.Alerts))
	for i, a := range d.Alerts {
		a.Labels, a.Annotations = kv(a.Labels), kv(a.Annotations)
		a.GeneratorURL = escapeURL(a.GeneratorURL)
		c.Alerts[i] = a
	}
	return &c
}
