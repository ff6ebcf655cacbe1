// Package migrations carries the numbered SQL migrations of the alertrouter database, one
// set per backend: sqlite/ for the embedded default, postgres/ for replicated mode. Both
// sets have the same version numbers, so that a version means the same schema on either,
// and the "database newer than this binary" refusal works the same way.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// SQLite and Postgres hold the goose migrations of each backend, one numbered file each.
var (
	SQLite   = sub("sqlite")
	Postgres = sub("postgres")
)

func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // the directories are embedded above
	}
	return f
}
