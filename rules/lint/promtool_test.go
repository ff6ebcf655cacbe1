package lint

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alertrouter/alertrouter/internal/testenv"
)

// parseFindings are the findings that mean "Prometheus refuses this file".
func parseFindings(f *File) []Finding {
	var out []Finding
	for _, finding := range f.Findings {
		if finding.Check == (parseCheck{}).ID() || finding.Check == (syntaxCheck{}).ID() {
			out = append(out, finding)
		}
	}
	return out
}

// TestParsesLikePromtool runs promtool check rules on every fixture and every
// community rule file: what promtool accepts lints without parse errors, and what it
// rejects is reported as an error with a line.
func TestParsesLikePromtool(t *testing.T) {
	promtool := testenv.RequireCommand(t, "promtool")
	fixtures, _ := filepath.Glob("testdata/promtool/*.yml")
	community, _ := filepath.Glob("testdata/community/*.yml")
	if len(fixtures) < 20 {
		t.Fatalf("only %d fixtures", len(fixtures))
	}
	rejected := 0
	for _, path := range append(fixtures, community...) {
		content, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput()
		promtoolAccepts := err == nil
		if _, isExit := err.(*exec.ExitError); err != nil && !isExit {
			t.Fatal(err)
		}
		if strings.HasPrefix(filepath.Base(path), "bad_") == promtoolAccepts {
			t.Errorf("%s: promtool accepts it: %v; the fixture's name says otherwise", path, promtoolAccepts)
		}
		found := parseFindings(ParseFile(path, content))
		switch {
		case promtoolAccepts && len(found) > 0:
			t.Errorf("%s: promtool accepts it, the linter reports %s:%d: %s", path, found[0].Check, found[0].Line, found[0].Message)
		case !promtoolAccepts && len(found) == 0:
			t.Errorf("%s: promtool rejects it, the linter finds nothing:\n%s", path, out)
		case !promtoolAccepts:
			rejected++
			for _, f := range found {
				if f.Line < 1 || f.Severity != Error {
					t.Errorf("%s: finding without a line or not an error: %+v", path, f)
				}
			}
		}
	}
	if rejected == 0 {
		t.Fatal("no fixture was rejected")
	}
}

// The line of each rejected fixture's first finding: where a person would fix it, or
// for broken YAML, where the YAML parser says (as promtool does).
func TestParseErrorLines(t *testing.T) {
	for name, line := range map[string]int{
		"bad_expr.yml": 5, "bad_unknown_field.yml": 6, "bad_record_and_alert.yml": 5, "bad_no_expr.yml": 4,
		"bad_template.yml": 7, "bad_name_label.yml": 7, "bad_repeated_group.yml": 6, "bad_empty_group_name.yml": 2,
		"bad_recording_for.yml": 4, "bad_recording_annotations.yml": 4, "bad_indent.yml": 3, "bad_duplicate_key.yml": 6,
		"bad_record_braces.yml": 4, "bad_duration.yml": 6, "bad_groups_not_list.yml": 2, "bad_second_rule.yml": 7,
	} {
		content, err := os.ReadFile(filepath.Join("testdata/promtool", name))
		if err != nil {
			t.Fatal(err)
		}
		found := parseFindings(ParseFile(name, content))
		if len(found) == 0 || found[0].Line != line {
			t.Errorf("%s: findings %+v, want the first at line %d", name, found, line)
		}
	}
}
