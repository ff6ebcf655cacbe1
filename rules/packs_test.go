package rules_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alertrouter/alertrouter/internal/testenv"
	"github.com/alertrouter/alertrouter/rules"
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
	p, _ := rules.Lookup("comfyui")
	r, err := p.Render(values)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`probe_success{job="comfyui_http"} == 0`, "for: 10s", "[1h]) >= 3", "> 2.5"} {
		if !strings.Contains(string(r.Rules), want) {
			t.Errorf("rendered rules lack %q:\n%s", want, r.Rules)
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
