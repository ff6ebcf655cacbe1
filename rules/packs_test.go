package rules_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alertrouter/alertrouter/internal/testenv"
	"github.com/alertrouter/alertrouter/rules"
	"github.com/alertrouter/alertrouter/rules/lint"
)

// siteValues are --set values unlike the defaults in every way a site may change
// them: other job names, higher and lower thresholds, and the short `for` durations
// of a test stack. The exported unit tests must follow them.
var siteValues = []string{
	"comfyui.job=comfyui_http",
	"comfyui.down_for=10s",
	"comfyui.flap_window=1h",
	"comfyui.flap_changes=3",
	"comfyui.slow_seconds=2.5",
	"comfyui.slow_for=0s",
	"gpu.job=nvidia_dcgm",
	"gpu.temp_warning=75",
	"gpu.temp_critical=83",
	"gpu.temp_for=10s",
	"gpu.memory_ratio=0.9",
	"gpu.memory_for=0s",
	"gpu.power_ratio=0.85",
	"gpu.power_for=2m",
	"gpu.xid_for=0s",
	"gpu.down_for=30s",
	"meta.prometheus_job=prom",
	"meta.hostgroup=ops",
	"meta.window=10m",
	"meta.alert_for=10s",
	"nginx.job=nginx_exporter",
	"nginx.error_ratio=0.02",
	"nginx.window=10m",
	"nginx.error_for=10s",
	"nginx.down_for=1m",
	"vpn.job=vpn_probe",
	"vpn.down_for=30s",
	"vpn.latency_seconds=0.25",
	"vpn.latency_for=0s",
	"router.job=router",
	"router.down_for=30s",
	"router.outbox_pending=20",
	"router.outbox_for=0s",
	"router.errors_for=2m",
}

func TestExportedPacksPassPromtool(t *testing.T) {
	promtool := testenv.RequireCommand(t, "promtool")
	for name, sets := range map[string][]string{"defaults": nil, "site values": siteValues} {
		t.Run(name, func(t *testing.T) {
			values, err := rules.ParseSets(sets)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			written, err := rules.Export(dir, nil, values, true)
			if err != nil {
				t.Fatal(err)
			}
			if want := 2 * len(rules.Packs()); len(written) != want {
				t.Fatalf("wrote %d files, want %d: %v", len(written), want, written)
			}
			ruleFiles, _ := filepath.Glob(filepath.Join(dir, "*.yml"))
			testFiles, _ := filepath.Glob(filepath.Join(dir, "tests", "*_test.yml"))
			runPromtool(t, promtool, append([]string{"check", "rules"}, ruleFiles...)...)
			runPromtool(t, promtool, append([]string{"test", "rules"}, testFiles...)...)
		})
	}
}

func runPromtool(t *testing.T, promtool string, args ...string) {
	t.Helper()
	out, err := exec.Command(promtool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args[:2], " "), err, out)
	}
}

func TestSiteValuesChangeTheRules(t *testing.T) {
	values, err := rules.ParseSets(siteValues)
	if err != nil {
		t.Fatal(err)
	}
	for pack, wants := range map[string][]string{
		"comfyui": {`probe_success{job="comfyui_http"} == 0`, "for: 10s", "[1h]) >= 3", "> 2.5"},
		"gpu":     {`DCGM_FI_DEV_GPU_TEMP{job="nvidia_dcgm"} > 75`, "<= 83", "for: 10s", "> 0.9\n", "> 0.85\n", "for: 2m"},
		"meta":    {"hostgroup: ops", `prometheus_config_last_reload_successful{job="prom"} == 0`, "[10m]) > 0", "for: 10s"},
		"nginx":   {`job="nginx_exporter",code="5xx",host!="*"}[10m]`, "> 0.02", "for: 10s", "for: 1m"},
		"vpn":     {`probe_success{job="vpn_probe"} == 0`, "for: 30s", "> 0.25", "for: 0s"},
	} {
		p, ok := rules.Lookup(pack)
		if !ok {
			t.Fatalf("no pack %s", pack)
		}
		r, err := p.Render(values)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range wants {
			if !strings.Contains(string(r.Rules), want) {
				t.Errorf("rendered %s rules lack %q:\n%s", pack, want, r.Rules)
			}
		}
	}
}

func TestEveryPackAlertFollowsTheConventions(t *testing.T) {
	if len(rules.Packs()) == 0 {
		t.Fatal("no packs")
	}
	for _, p := range rules.Packs() {
		if len(p.Alerts) == 0 {
			t.Errorf("pack %s defines no alerts", p.Name)
		}
		if p.Description == "" {
			t.Errorf("pack %s has no description", p.Name)
		}
		for _, param := range p.Params {
			if param.Doc == "" {
				t.Errorf("%s has no doc", param.Key)
			}
		}
	}
}

func TestParseSetsRejectsBadValues(t *testing.T) {
	for _, tc := range []struct{ set, want string }{
		{"comfyui.job", "want KEY=VALUE"},
		{"comfyui.nope=1", "unknown parameter"},
		{"nope.job=1", "unknown parameter"},
		{"comfyui.down_for=2 minutes", "not a Prometheus duration"},
		{"comfyui.slow_seconds=fast", "not a number"},
		{"comfyui.slow_seconds=NaN", "not a number"},
		{"comfyui.flap_changes=0", "not a positive integer"},
		{`comfyui.job=a"b`, "not a usable label value"},
		{"comfyui.job=", "not a usable label value"},
	} {
		_, err := rules.ParseSets([]string{tc.set})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSets(%q) = %v, want an error containing %q", tc.set, err, tc.want)
		}
	}
}

func TestExportOfAnUnknownPackWritesNothing(t *testing.T) {
	dir := t.TempDir()
	if _, err := rules.Export(dir, []string{"comfyui", "nope"}, nil, true); err == nil || !strings.Contains(err.Error(), `unknown pack "nope"`) {
		t.Fatalf("Export = %v, want unknown pack", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("export wrote %d entries before failing", len(entries))
	}
}

// The packs are what we tell users to load: they must pass our own linter without a
// single finding, warnings and infos included.
func TestPacksLintClean(t *testing.T) {
	dir := t.TempDir()
	if _, err := rules.Export(dir, nil, nil, true); err != nil {
		t.Fatal(err)
	}
	files, errs := lint.Load([]string{dir})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if len(files) != len(rules.Packs()) {
		t.Fatalf("linted %d files, want the %d packs (and not their tests)", len(files), len(rules.Packs()))
	}
	for _, f := range lint.Lint(files, lint.Options{}) {
		t.Errorf("%s:%d:%d: %s %s: %s: %s", filepath.Base(f.File), f.Line, f.Column, f.Severity, f.Check, f.Rule, f.Message)
	}
}

// Names reads only the manifest (every command lists the names in its flags), so it must
// name exactly the packs that parsing the files gives, in the same order.
func TestNamesAreThePacks(t *testing.T) {
	var parsed []string
	for _, p := range rules.Packs() {
		parsed = append(parsed, p.Name)
	}
	if got := rules.Names(); strings.Join(got, ",") != strings.Join(parsed, ",") {
		t.Errorf("Names() = %v, the packs are %v", got, parsed)
	}
	if len(parsed) == 0 {
		t.Error("no packs")
	}
}
