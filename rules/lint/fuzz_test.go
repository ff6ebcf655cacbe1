package lint

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLint feeds arbitrary YAML to the lint entry point: it must never panic, and
// every finding must name a known check and a position.
func FuzzLint(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/golden/*.yml")
	community, _ := filepath.Glob("testdata/community/*.yml")
	if len(community) > 5 {
		community = community[:5]
	}
	for _, name := range append(seeds, community...) {
		content, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(content)
	}
	f.Add([]byte("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum by (x) (rate(a_total[1m])) > on (x) group_left (y) b\n        labels: {severity: '{{ $value }}'}\n"))
	f.Add([]byte("groups:\n  - name: g\n    rules:\n      - record: a:b\n        expr: a:b\n      - alert: A\n        expr: absent(a:b{x=~'.'})\n"))
	f.Add([]byte("groups: [{name: g, rules: [{alert: A, expr: 'vector(1)', annotations: {x: '{{ index $labels \"a\" }}'}}]}]"))
	f.Fuzz(func(t *testing.T, content []byte) {
		file := ParseFile("fuzz.yml", content)
		for _, finding := range Lint([]*File{file}, Options{}) {
			if _, ok := Lookup(finding.Check); !ok {
				t.Fatalf("finding of unknown check %q", finding.Check)
			}
			if finding.Line < 1 || finding.Column < 1 {
				t.Fatalf("finding without a position: %+v", finding)
			}
		}
	})
}
