package migrations

import (
	"io/fs"
	"slices"
	"testing"
)

// A version means the same schema on both backends: every migration exists for both.
func TestBothBackendsHaveTheSameVersions(t *testing.T) {
	names := func(f fs.FS) []string {
		out, err := fs.Glob(f, "*.sql")
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	lite, pg := names(SQLite), names(Postgres)
	if len(lite) < 4 || !slices.Equal(lite, pg) {
		t.Fatalf("sqlite migrations %v, postgres %v: want the same files", lite, pg)
	}
}
