// Package console is the web console's presentation: its HTML templates and stylesheet,
// embedded in the binary (no build step), and its words in English and Simplified
// Chinese. The router serves the pages (router/pages.go); this package only renders them.
package console

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Static serves the stylesheet (and anything else under static/).
func Static() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	return http.FileServerFS(sub)
}

// Page is what every page's template gets: its own data, and the frame around it.
type Page struct {
	Title string
	// Prefix is web.external_url's path: links are below it.
	Prefix string
	Lang   Lang
	// User is who is logged in (empty when the config has no logins), Role their role,
	// CSRF the token their forms send back.
	User, Role, CSRF string
	// CanAct is set for operators and admins: the page shows their buttons.
	CanAct bool
	// Location is global.timezone: times are shown in it.
	Location *time.Location
	// Flash is a line to show on top: what an action did.
	Flash string
	Data  any
}

// Renderer renders the console's pages.
type Renderer struct {
	pages map[string]*template.Template
}

// New parses the templates: each page with the layout around it.
func New() (*Renderer, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	r := &Renderer{pages: map[string]*template.Template{}}
	for _, name := range names {
		base := strings.TrimPrefix(name, "templates/")
		if base == "layout.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", name)
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", base, err)
		}
		r.pages[strings.TrimSuffix(base, ".html")] = t
	}
	return r, nil
}

// Render writes page with p.
func (r *Renderer) Render(w io.Writer, page string, p *Page) error {
	t, ok := r.pages[page]
	if !ok {
		return fmt.Errorf("no console page %q", page)
	}
	return t.Execute(w, p)
}

// funcs are the templates' helpers; "t" (the words of the page's language) and "time"
// (a time in global.timezone) are methods of Page.
var funcs = template.FuncMap{
	"join": strings.Join,
	"list": func(items ...string) []string { return items },
}

// T is the page's words for an English text: its Chinese when the page is in Chinese.
func (p *Page) T(text string) string { return p.Lang.T(text) }

// Time shows t in global.timezone, to the second; "-" for the zero time.
func (p *Page) Time(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	loc := p.Location
	if loc == nil {
		loc = time.Local
	}
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}

// Path is a path of the console below its prefix.
func (p *Page) Path(path string) string { return p.Prefix + path }

// reasons say why dedupe suppressed a copy, by the reason the router records.
var reasons = map[string]string{
	"duplicate":               "already sent: a copy from the other Alertmanager of a pair, or a repeat within repeat_interval",
	"stale":                   "a late copy of an episode already settled",
	"send_resolved_disabled":  "resolved, and the receiver does not send resolutions",
	"resolved_without_firing": "resolved, and its firing was never sent here",
	"acknowledged":            "its episode is acknowledged: no repeats until it resolves",
}

// Why is why dedupe suppressed a copy, in the page's language.
func (p *Page) Why(reason string) string {
	if text, ok := reasons[reason]; ok {
		return p.T(text)
	}
	return reason
}
