package lint

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// TestGoldenOutput pins the three output formats: text for people, json for tools,
// github for workflow annotations.
func TestGoldenOutput(t *testing.T) {
	files, errs := Load([]string{"testdata/golden/rules.yml"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	findings := Lint(files, Options{})
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, format, findings); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", "output."+format)
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s output differs from %s (go test -update rewrites it):\n%s", format, golden, buf.String())
			}
		})
	}
}

func TestWriteRejectsUnknownFormat(t *testing.T) {
	if err := Write(&bytes.Buffer{}, "xml", nil); err == nil {
		t.Fatal("Write accepted format xml")
	}
}

func TestJSONOfNoFindingsIsAnEmptyArray(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, "json", nil); err != nil || buf.String() != "[]\n" {
		t.Fatalf("got %q, %v; want []", buf.String(), err)
	}
}
