package lint

import (
	"testing"
)

// BenchmarkLintCommunity lints the community corpus (testdata/community, about a
// hundred real rule files) from disk, as `alertrouter rules lint DIR` does. Compare
// with `promtool check rules testdata/community/*.yml`; the README has the figures.
func BenchmarkLintCommunity(b *testing.B) {
	files, errs := Load([]string{"testdata/community"})
	if len(errs) > 0 {
		b.Skip(errs)
	}
	rules := 0
	for _, f := range files {
		rules += len(f.Rules)
	}
	b.ReportMetric(float64(len(files)), "files")
	b.ReportMetric(float64(rules), "rules")
	b.ResetTimer()
	for b.Loop() {
		files, _ := Load([]string{"testdata/community"})
		Lint(files, Options{})
	}
}
