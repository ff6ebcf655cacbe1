package receivers

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/alertmanager/template"
)

func sampleData(n int, status string) *template.Data {
	d := &template.Data{Receiver: "r", Status: status, GroupLabels: template.KV{"hostgroup": "gpu-a"},
		CommonLabels: template.KV{"alertname": "GPUHot", "hostgroup": "gpu-a"}, CommonAnnotations: template.KV{}}
	for i := range n {
		d.Alerts = append(d.Alerts, template.Alert{Status: status,
			Labels:      template.KV{"alertname": "GPUHot", "hostgroup": "gpu-a", "instance": "node-" + strings.Repeat("x", i%3) + string(rune('a'+i%26))},
			Annotations: template.KV{"summary": "GPU is hot"},
			StartsAt:    time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC), EndsAt: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)})
	}
	return d
}

func TestDefaultTemplatesUseTheTimezone(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	tm, err := NewTemplates(nil, sh)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tm.Text(`{{ template "slack.alertrouter.text" . }}`, sampleData(1, "firing"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "• *GPUHot* on `node-a`: GPU is hot _since 2026-11-21 16:00:00 CST_\n"; got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	title, _ := tm.Text(`{{ template "slack.alertrouter.title" . }}`, sampleData(2, "firing"))
	if title != "[FIRING:2] GPUHot (gpu-a)" {
		t.Fatalf("title = %q", title)
	}
	// Alertmanager's own templates are there too.
	if s, err := tm.Text(`{{ template "slack.default.title" . }}`, sampleData(1, "firing")); err != nil || !strings.HasPrefix(s, "[FIRING:1]") {
		t.Fatalf("slack.default.title = %q, %v", s, err)
	}
}

func TestUserTemplatesOverrideAndErrorsNameFileAndLine(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.tmpl")
	os.WriteFile(good, []byte(`{{ define "slack.alertrouter.title" }}custom {{ .Status }}{{ end }}`), 0o600)
	tm, err := NewTemplates([]string{filepath.Join(dir, "*.tmpl")}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := tm.Text(`{{ template "slack.alertrouter.title" . }}`, sampleData(1, "firing")); s != "custom firing" {
		t.Fatalf("user template did not override the default: %q", s)
	}
	bad := filepath.Join(dir, "bad.tmpl")
	os.WriteFile(bad, []byte("{{ define \"x\" }}\nline two {{ .Oops \n{{ end }}"), 0o600)
	_, err = NewTemplates([]string{bad}, time.UTC)
	if err == nil || !strings.Contains(err.Error(), "bad.tmpl:3") {
		t.Fatalf("error %v does not name bad.tmpl:3", err)
	}
	if err := tm.Check(`{{ template "nope" . }}`, false); err == nil {
		t.Fatal("Check accepted a call of an undefined template")
	}
	if err := tm.Check(`{{ .Status `, false); err == nil {
		t.Fatal("Check accepted a template that does not parse")
	}
}

func TestMapValuesEscapesDataOnly(t *testing.T) {
	d := sampleData(1, "firing")
	d.Alerts[0].Annotations["summary"] = "<!channel> & <b>"
	esc := MapValues(d, strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace)
	if got := esc.Alerts[0].Annotations["summary"]; got != "&lt;!channel&gt; &amp; &lt;b&gt;" {
		t.Fatalf("escaped = %q", got)
	}
	if d.Alerts[0].Annotations["summary"] != "<!channel> & <b>" {
		t.Fatal("MapValues changed its input")
	}
}

func TestTruncatedSaysHowManyAreLeftOut(t *testing.T) {
	tm, _ := NewTemplates(nil, time.UTC)
	render := func(d *template.Data) (string, error) { return tm.Text(`{{ template "slack.alertrouter.text" . }}`, d) }
	d := sampleData(200, "firing")
	full, _ := render(d)
	got, err := Truncated(d, 1000, render)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > 1000 || len(full) <= 1000 {
		t.Fatalf("len = %d (full %d)", len(got), len(full))
	}
	lines := strings.Split(got, "\n")
	shown := len(lines) - 1
	if want := "... and " + itoa(200-shown) + " more alerts"; lines[len(lines)-1] != want {
		t.Fatalf("last line %q, want %q", lines[len(lines)-1], want)
	}
	if short, _ := Truncated(sampleData(2, "firing"), 1000, render); strings.Contains(short, "more alerts") {
		t.Fatalf("short message truncated: %q", short)
	}
	if tiny, _ := Truncated(d, 10, render); len(tiny) > 10 {
		t.Fatalf("tiny limit: %q", tiny)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestTruncatedNeverDropsTheLastAlert(t *testing.T) {
	tm, _ := NewTemplates(nil, time.UTC)
	// A template that indexes the first alert, as many do.
	render := func(d *template.Data) (string, error) {
		return tm.Text(`{{ (index .Alerts 0).Labels.alertname }}: {{ range .Alerts }}{{ .Annotations.summary }}{{ end }}`, d)
	}
	one := sampleData(1, "firing")
	one.Alerts[0].Annotations["summary"] = strings.Repeat("热", 3000) // 9000 bytes
	got, err := Truncated(one, 1000, render)
	if err != nil || len(got) > 1000 || !strings.HasPrefix(got, "GPUHot: 热") || !utf8.ValidString(got) {
		t.Fatalf("one long alert: %d bytes, %v: %q", len(got), err, got[:min(40, len(got))])
	}
	two := sampleData(2, "firing")
	two.Alerts[0].Annotations["summary"] = strings.Repeat("x", 5000)
	got, err = Truncated(two, 1000, render)
	if err != nil || len(got) > 1000 || !strings.HasPrefix(got, "GPUHot: xxx") || !strings.HasSuffix(got, "\n... and 1 more alerts") {
		t.Fatalf("first alert too long: %v: %q...%q", err, got[:20], got[max(0, len(got)-30):])
	}
}

func TestCheckRendersResolvedAndSeveralAlerts(t *testing.T) {
	tm, _ := NewTemplates(nil, time.UTC)
	if err := tm.Check(`{{ if eq .Status "resolved" }}{{ template "undefined" . }}{{ end }}`, false); err == nil {
		t.Fatal("a template broken only when resolved passed Check")
	}
	if err := tm.Check(`{{ range .Alerts }}{{ if eq .Labels.alertname "Other" }}{{ template "nope" . }}{{ end }}{{ end }}`, false); err == nil {
		t.Fatal("a template broken only for a second alert passed Check")
	}
}

func TestMapValuesEscapesNamesAndURLs(t *testing.T) {
	d := sampleData(1, "firing")
	d.Alerts[0].Labels["<!channel>"] = "x"
	d.Alerts[0].GeneratorURL = "http://prom/graph?a=1&b=<2>"
	esc := MapValues(d, strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace)
	if _, ok := esc.Alerts[0].Labels["&lt;!channel&gt;"]; !ok {
		t.Fatalf("label name not escaped: %v", esc.Alerts[0].Labels)
	}
	if esc.Alerts[0].GeneratorURL != "http://prom/graph?a=1&amp;b=&lt;2&gt;" {
		t.Fatalf("generator URL = %q", esc.Alerts[0].GeneratorURL)
	}
}
