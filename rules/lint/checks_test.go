package lint

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alertrouter/alertrouter/config"
)

// checkCase is one rule group body linted on its own; want lists the messages (by
// substring) that the check under test must report, in order. Empty want: clean.
type checkCase struct {
	name  string
	rules string
	want  []string
}

// lintRules lints a group with the given rules and returns the findings of check id.
func lintRules(t *testing.T, id, rules string, opts Options) []Finding {
	t.Helper()
	content := "groups:\n  - name: test\n    rules:\n" + indent(rules, "      ")
	f := ParseFile("rules.yml", []byte(content))
	for _, pf := range f.Findings {
		if pf.Check != id {
			t.Fatalf("test rules do not parse: %s:%d: %s\n%s", pf.File, pf.Line, pf.Message, content)
		}
	}
	var out []Finding
	for _, finding := range Lint([]*File{f}, opts) {
		if finding.Check == id {
			out = append(out, finding)
		}
	}
	return out
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}

func runCheckCases(t *testing.T, id string, opts Options, cases []checkCase) {
	t.Helper()
	c, ok := Lookup(id)
	if !ok {
		t.Fatalf("no check %s", id)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := lintRules(t, id, tc.rules, opts)
			if len(got) != len(tc.want) {
				t.Fatalf("%s: got %d findings, want %d:\n%s", id, len(got), len(tc.want), describe(got))
			}
			for i, f := range got {
				if !strings.Contains(f.Message, tc.want[i]) {
					t.Errorf("finding %d: %q does not contain %q", i, f.Message, tc.want[i])
				}
				if f.Severity != c.Severity() || f.Line == 0 || f.Column == 0 {
					t.Errorf("finding %d: severity %s at %d:%d, want %s at a position", i, f.Severity, f.Line, f.Column, c.Severity())
				}
			}
		})
	}
}

func describe(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "  %d:%d %s %s\n", f.Line, f.Column, f.Check, f.Message)
	}
	return b.String()
}

// ok is a rule that every check accepts, to build cases from.
const okAnnotations = `
  annotations:
    summary: "{{ $labels.instance }} is down"
    description: "{{ $labels.instance }} has been down for 5m ({{ $value }})."`

func alert(name, expr string, extra string) string {
	return fmt.Sprintf("- alert: %s\n  expr: %s\n  for: 5m\n  labels:\n    severity: critical\n%s%s\n", name, expr, extra, okAnnotations)
}

func TestCheckFor(t *testing.T) {
	runCheckCases(t, "alerts/for", Options{}, []checkCase{
		{"with for", alert("A", "up == 0", ""), nil},
		{"without for", "- alert: A\n  expr: up == 0\n", []string{"no `for`"}},
		{"for 0s", "- alert: A\n  expr: up == 0\n  for: 0s\n", []string{"no `for`"}},
		{"heartbeat", "- alert: Watchdog\n  expr: vector(1)\n", nil},
		{"recording rule", "- record: job:up:sum\n  expr: sum by (job) (up)\n", nil},
	})
}

func TestCheckSeverity(t *testing.T) {
	runCheckCases(t, "labels/severity", Options{}, []checkCase{
		{"allowed", alert("A", "up == 0", ""), nil},
		{"missing", "- alert: A\n  expr: up == 0\n  for: 1m\n", []string{"no severity label"}},
		{"not allowed", "- alert: A\n  expr: up == 0\n  for: 1m\n  labels:\n    severity: page\n", []string{`severity "page" is not one of critical, warning, info`}},
		{"templated", "- alert: A\n  expr: up == 0\n  for: 1m\n  labels:\n    severity: '{{ $labels.severity }}'\n", nil},
		{"recording rule", "- record: a:b\n  expr: up\n", nil},
	})
	runCheckCases(t, "labels/severity", Options{Severities: []string{"page", "ticket"}}, []checkCase{
		{"site severities", "- alert: A\n  expr: up == 0\n  for: 1m\n  labels:\n    severity: page\n", nil},
	})
}

func TestCheckHostgroup(t *testing.T) {
	runCheckCases(t, "labels/hostgroup", Options{}, []checkCase{
		{"series labels", alert("A", "up == 0", ""), nil},
		{"sum by keeps it", alert("A", "sum by (hostgroup, instance) (rate(x_total[5m])) > 1", ""), nil},
		{"sum by drops it", alert("A", "sum by (instance) (rate(x_total[5m])) > 1", ""), []string{"sum by (instance) drops it"}},
		{"sum drops it", alert("A", "sum(up) == 0", ""), []string{"sum(...) with no by clause drops it"}},
		{"without keeps it", alert("A", "sum without (cpu) (rate(x_total[5m])) > 1", ""), nil},
		{"without drops it", alert("A", "max without (hostgroup) (up) == 0", ""), []string{"max without (hostgroup)"}},
		{"static label", alert("A", "sum(up) == 0", "    hostgroup: render\n"), nil},
		{"on drops it", alert("A", "up == on (instance) group by (instance) (x)", ""), []string{`"==" on (instance)`}},
		{"ignoring keeps it", alert("A", "a / ignoring (code) b > 1", ""), nil},
		{"group_left keeps the many side", alert("A", "a * on (instance) group_left (team) b > 1", ""), nil},
		{"group_right takes the one side", alert("A", "sum by (instance) (a) * on (instance) group_right b > 1", ""), nil},
		{"and keeps the left", alert("A", "sum by (instance) (a) > 1 and up", ""), []string{"sum by (instance)"}},
		{"or loses it on one side", alert("A", "up == 0 or sum by (job) (x) > 1", ""), []string{"sum by (job)"}},
		{"absent", alert("A", `absent(up{job="x"})`, ""), []string{"absent()"}},
		{"absent with hostgroup matcher", alert("A", `absent(up{job="x",hostgroup="render"})`, ""), nil},
		{"absent with two hostgroup matchers", alert("A", `absent(up{hostgroup="db",hostgroup!="x"})`, ""), []string{"absent()"}},
		{"label_replace that empties it", alert("A", `label_replace(up, "hostgroup", "", "", "") == 0`, ""), []string{"label_replace() with an empty replacement"}},
		{"recording rules that read themselves", "- record: r\n  expr: r + r + r\n- record: r\n  expr: sum by (hostgroup) (r + r + r)\n- record: r\n  expr: r + r + r + r\n" +
			alert("A", "r + r + r > 1", ""), nil},
		{"vector", alert("A", "vector(1)", ""), []string{"vector()"}},
		{"label_replace adds it", alert("A", `label_replace(sum(up), "hostgroup", "render", "", "")`, ""), nil},
		{"histogram_quantile keeps it", alert("A", "histogram_quantile(0.9, sum by (le, hostgroup) (rate(x_bucket[5m]))) > 1", ""), nil},
		{"topk keeps it", alert("A", "topk(3, up) == 0", ""), nil},
		{"recording rule dropped it", "- record: instance:x:rate5m\n  expr: sum by (instance) (rate(x_total[5m]))\n" +
			alert("A", "instance:x:rate5m > 1", ""), []string{"sum by (instance)"}},
		{"recording rule kept it", "- record: hostgroup:x:rate5m\n  expr: sum by (hostgroup) (rate(x_total[5m]))\n" +
			alert("A", "hostgroup:x:rate5m > 1", ""), nil},
		{"recording rule with a static label", "- record: x:sum\n  expr: sum(x)\n  labels:\n    hostgroup: render\n" +
			alert("A", "x:sum > 1", ""), nil},
	})
	runCheckCases(t, "labels/hostgroup", Options{HostgroupLabel: "team"}, []checkCase{
		{"other label name", alert("A", "sum by (hostgroup) (up) == 0", ""), []string{"no team label"}},
	})
}

func TestCheckHostgroupWithPrometheusConfig(t *testing.T) {
	prom := &PrometheusConfig{ScrapeInterval: 15 * time.Second, Jobs: map[string]ScrapeJob{
		"comfy":   {Name: "comfy", ScrapeInterval: 15 * time.Second, Labels: []string{"hostgroup"}, Closed: true},
		"bare":    {Name: "bare", ScrapeInterval: 15 * time.Second, Closed: true},
		"dynamic": {Name: "dynamic", ScrapeInterval: 15 * time.Second},
	}}
	runCheckCases(t, "labels/hostgroup", Options{Prometheus: prom}, []checkCase{
		{"job sets it", alert("A", `probe_success{job="comfy"} == 0`, ""), nil},
		{"job lacks it", alert("A", `up{job="bare"} == 0`, ""), []string{`scrape job "bare", whose targets have no hostgroup label`}},
		{"service discovery may set it", alert("A", `up{job="dynamic"} == 0`, ""), nil},
	})
	withExternal := *prom
	withExternal.ExternalLabels = map[string]string{"hostgroup": "dc1"}
	runCheckCases(t, "labels/hostgroup", Options{Prometheus: &withExternal}, []checkCase{
		{"external label", alert("A", `sum(up) == 0`, ""), nil},
	})
}

func TestCheckTemplate(t *testing.T) {
	runCheckCases(t, "alerts/template", Options{}, []checkCase{
		{"labels from the series", alert("A", "up == 0", ""), nil},
		{"label lost to sum by", "- alert: A\n  expr: sum by (job) (up) == 0\n  annotations:\n    summary: '{{ $labels.instance }} down'\n",
			[]string{"annotation summary uses $labels.instance, but sum by (job) drops that label"}},
		{"index form", "- alert: A\n  expr: sum by (job) (up) == 0\n  annotations:\n    summary: '{{ index $labels \"instance\" }} down'\n",
			[]string{"$labels.instance"}},
		{"inside if", "- alert: A\n  expr: sum by (job) (up) == 0\n  annotations:\n    summary: '{{ if $labels.instance }}x{{ end }}'\n",
			[]string{"$labels.instance"}},
		{"kept by by", "- alert: A\n  expr: sum by (job) (up) == 0\n  annotations:\n    summary: '{{ $labels.job }} down'\n", nil},
		{"value in a label", "- alert: A\n  expr: up == 0\n  labels:\n    current: '{{ $value }}'\n",
			[]string{"label current uses $value"}},
		{"value in an annotation", "- alert: A\n  expr: up == 0\n  annotations:\n    summary: '{{ $value | humanize }}'\n", nil},
		{"static labels are not $labels", "- alert: A\n  expr: vector(1)\n  labels:\n    team: a\n  annotations:\n    summary: '{{ $labels.team }}'\n",
			[]string{"$labels.team, but vector() drops"}},
	})
}

func TestCheckAnnotations(t *testing.T) {
	runCheckCases(t, "alerts/annotations", Options{}, []checkCase{
		{"both", alert("A", "up == 0", ""), nil},
		{"none", "- alert: A\n  expr: up == 0\n", []string{"no summary", "no description"}},
		{"no description", "- alert: A\n  expr: up == 0\n  annotations:\n    summary: down\n", []string{"no description"}},
		{"recording rule", "- record: a:b\n  expr: up\n", nil},
	})
}

func TestCheckRange(t *testing.T) {
	runCheckCases(t, "promql/range", Options{}, []checkCase{
		{"5m at 1m", alert("A", "rate(x_total[5m]) > 1", ""), nil},
		{"2m at 1m", alert("A", "rate(x_total[2m]) > 1", ""), []string{"rate(x_total[2m]) covers fewer than 4 scrapes (scrape interval 1m): use a range of at least 4m"}},
		{"increase and irate", alert("A", "increase(x_total[1m]) > 1 or irate(y_total[3m]) > 1", ""), []string{"increase", "irate"}},
		{"other functions", alert("A", "avg_over_time(x[1m]) > 1", ""), nil},
	})
	runCheckCases(t, "promql/range", Options{ScrapeInterval: 15 * time.Second}, []checkCase{
		{"1m at 15s", alert("A", "rate(x_total[1m]) > 1", ""), nil},
		{"30s at 15s", alert("A", "rate(x_total[30s]) > 1", ""), []string{"at least 1m"}},
	})
	prom := &PrometheusConfig{ScrapeInterval: 15 * time.Second, Jobs: map[string]ScrapeJob{"slow": {Name: "slow", ScrapeInterval: 2 * time.Minute}}}
	runCheckCases(t, "promql/range", Options{Prometheus: prom}, []checkCase{
		{"job interval", alert("A", `rate(x_total{job="slow"}[5m]) > 1`, ""), []string{"scrape interval 2m): use a range of at least 8m"}},
		{"global interval", alert("A", `rate(x_total{job="other"}[1m]) > 1`, ""), nil},
	})
}

func TestCheckRate(t *testing.T) {
	runCheckCases(t, "promql/rate", Options{}, []checkCase{
		{"counter", alert("A", "rate(x_total[5m]) > 1", ""), nil},
		{"histogram", alert("A", "rate(x_bucket[5m]) > 1 or rate(x_count[5m]) > 1 or rate(x_sum[5m]) > 1", ""), nil},
		{"gauge", alert("A", "rate(node_memory_free_bytes[5m]) > 1", ""), []string{"rate() of node_memory_free_bytes, which is not a counter"}},
		{"recorded", alert("A", "rate(job:x:sum[5m]) > 1", ""), nil},
		{"by __name__", alert("A", `increase({__name__="temperature"}[5m]) > 1`, ""), []string{"increase() of temperature"}},
	})
}

func TestCheckCounter(t *testing.T) {
	runCheckCases(t, "promql/counter", Options{}, []checkCase{
		{"through rate", alert("A", "rate(x_total[5m]) > 1", ""), nil},
		{"raw", alert("A", "x_total > 100", ""), []string{"x_total is a counter compared raw"}},
		{"raw under sum", alert("A", "sum by (hostgroup) (x_total) > 100", ""), []string{"x_total is a counter"}},
		{"arithmetic is not raw", alert("A", "x_total - x_total offset 1h > 100", ""), nil},
		{"gauge", alert("A", "temperature > 80", ""), nil},
		{"on the right", alert("A", "100 < x_total", ""), []string{"x_total"}},
	})
}

func TestCheckAbsent(t *testing.T) {
	runCheckCases(t, "promql/absent", Options{}, []checkCase{
		{"equality", alert("A", `absent(up{job="x",hostgroup="render"})`, "    hostgroup: render\n"), nil},
		{"regex", alert("A", `absent(up{job=~"x|y"})`, "    hostgroup: render\n"), []string{`matcher job=~"x|y": the alert loses the job label`}},
		{"not equal", alert("A", `absent(up{job!="x"})`, "    hostgroup: render\n"), []string{`job!="x"`}},
		{"expression", alert("A", `absent(sum(up{job="x"}))`, "    hostgroup: render\n"), []string{"reads an expression"}},
		{"over time", alert("A", `absent_over_time(up{job=~"x.*"}[5m])`, "    hostgroup: render\n"), []string{"absent_over_time()"}},
	})
}

func TestCheckJob(t *testing.T) {
	runCheckCases(t, "promql/job", Options{}, []checkCase{
		{"without prometheus.yml", alert("A", `up{job="nope"} == 0`, ""), nil},
	})
	prom := &PrometheusConfig{ScrapeInterval: time.Minute, Jobs: map[string]ScrapeJob{"comfy_status": {}, "node": {}}}
	runCheckCases(t, "promql/job", Options{Prometheus: prom}, []checkCase{
		{"known", alert("A", `probe_success{job="comfy_status"} == 0`, ""), nil},
		{"typo", alert("A", `probe_success{job="comfy-status"} == 0`, ""), []string{`job="comfy-status" matches no scrape job in the Prometheus config (jobs: comfy_status, node)`}},
		{"the same typo twice", alert("A", `a{job="comfy-status"} / b{job="comfy-status"} > 1`, ""), []string{`job="comfy-status"`}},
		{"regex matches", alert("A", `up{job=~"no.*"} == 0`, ""), nil},
		{"regex matches none", alert("A", `up{job=~"x.*"} == 0`, ""), []string{`job=~"x.*"`}},
		{"negative", alert("A", `up{job!="nope"} == 0`, ""), nil},
	})
	federating := &PrometheusConfig{ScrapeInterval: time.Minute, Jobs: map[string]ScrapeJob{"federate": {honorLabels: true}}}
	runCheckCases(t, "promql/job", Options{Prometheus: federating}, []checkCase{
		{"federated jobs", alert("A", `up{job="remote-node"} == 0`, ""), nil},
	})
}

func TestCheckRoute(t *testing.T) {
	router, err := config.Load([]byte(`
receivers:
  - name: ops
    log: {}
  - name: render-team
    log: {}
  - name: pay
    log: {}
routes:
  - hostgroup: render
    receivers: [render-team]
  - hostgroup_regex: "pay-.*"
    matchers: ['severity="critical"']
    receivers: [pay]
  - hostgroup: db
    matchers: ['team="dba"']
    receivers: [pay]
default_receivers: [ops]
watchdog:
  receivers: [ops]
  heartbeat: {alertname: Watchdog}
`), "alertrouter.yml")
	if err != nil {
		t.Fatal(err)
	}
	runCheckCases(t, "alerts/route", Options{}, []checkCase{
		{"without alertrouter.yml", alert("A", "up == 0", "    hostgroup: nowhere\n"), nil},
	})
	runCheckCases(t, "alerts/route", Options{Router: router}, []checkCase{
		{"routed", alert("A", "up == 0", "    hostgroup: render\n"), nil},
		{"regex and matcher", alert("A", "up == 0", "    hostgroup: pay-gw\n"), nil},
		{"matcher fails", "- alert: A\n  expr: up == 0\n  for: 1m\n  labels:\n    severity: warning\n    hostgroup: pay-gw\n",
			[]string{`hostgroup "pay-gw" matches no route in the alertrouter config, so this alert reaches only the default receivers (ops)`}},
		{"matcher on a series label", alert("A", "up == 0", "    hostgroup: db\n"), nil},
		{"no route", alert("A", "up == 0", "    hostgroup: nowhere\n"), []string{`hostgroup "nowhere"`}},
		{"from the series", alert("A", "up == 0", ""), nil},
		{"templated", alert("A", "up == 0", "    hostgroup: '{{ $labels.x }}'\n"), nil},
		{"the heartbeat", alert("Watchdog", "vector(1)", "    hostgroup: nowhere\n"), nil},
	})
}

func TestCheckDuplicate(t *testing.T) {
	runCheckCases(t, "rule/duplicate", Options{}, []checkCase{
		{"distinct", alert("A", "up == 0", "") + alert("B", "up == 0", ""), nil},
		{"same name, other labels", alert("A", "up == 0", "") + alert("A", "up == 0", "    team: x\n"), nil},
		{"same name and labels", alert("A", "up == 0", "") + alert("A", "up > 1", ""), []string{"alert A with the same labels is already defined at rules.yml:4"}},
		{"recording rules", "- record: a:b\n  expr: up\n- record: a:b\n  expr: up\n", []string{"recording rule a:b"}},
		{"one recorded name over two selectors", "- record: a:b\n  expr: up{job=\"a\"}\n- record: a:b\n  expr: up{job=\"b\"}\n", nil},
	})
}

func TestCheckSyntaxAndParse(t *testing.T) {
	for _, tc := range []struct {
		name, content, check, msg string
		line                      int
	}{
		{"bad expression", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum(up\n", "promql/syntax", "could not parse expression", 5},
		{"unknown field", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        fro: 5m\n", "rule/parse", "field fro not found", 6},
		{"not yaml", "groups: [\n", "rule/parse", "yaml", 1},
		{"both record and alert", "groups:\n  - name: g\n    rules:\n      - alert: A\n        record: b\n        expr: up\n", "rule/parse", "only one of 'record' and 'alert'", 5},
		{"bad template", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotations:\n          summary: '{{ $labels.x'\n", "rule/parse", `annotation "summary"`, 7},
		{"repeated group", "groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n", "rule/parse", "repeated", 4},
		{"empty group name", "groups:\n  - name: ''\n    rules: []\n", "rule/parse", "Groupname must not be empty", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := ParseFile("r.yml", []byte(tc.content))
			if len(f.Findings) == 0 {
				t.Fatalf("no findings for\n%s", tc.content)
			}
			got := f.Findings[0]
			if got.Check != tc.check || !strings.Contains(got.Message, tc.msg) || got.Line != tc.line || got.Severity != Error {
				t.Fatalf("got %s %s at line %d: %q; want %s %q at line %d", got.Severity, got.Check, got.Line, got.Message, tc.check, tc.msg, tc.line)
			}
		})
	}
}

func TestParseErrorsLeaveOtherRulesLinted(t *testing.T) {
	f := ParseFile("r.yml", []byte("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum(up\n      - alert: B\n        expr: up == 0\n"))
	if len(f.Rules) != 1 || f.Rules[0].Alert != "B" {
		t.Fatalf("rules = %v, want only B", f.Rules)
	}
}

func TestDisableComments(t *testing.T) {
	content := `# alertrouter lint:file-disable alerts/annotations
groups:
  - name: g
    rules:
      # alertrouter lint:disable alerts/for,labels/severity
      - alert: A
        expr: up == 0
      - alert: B # alertrouter lint:disable alerts/for
        expr: up == 0

      - alert: C
        expr: up == 0
`
	var got []string
	for _, f := range Lint([]*File{ParseFile("r.yml", []byte(content))}, Options{}) {
		got = append(got, f.Rule+" "+f.Check)
	}
	want := []string{"B labels/severity", "C alerts/for", "C labels/severity"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("findings %v, want %v", got, want)
	}
}
