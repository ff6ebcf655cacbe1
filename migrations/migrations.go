// Package migrations carries the numbered SQL migrations of the alertrouter database.
package migrations

import "embed"

// FS holds the goose migrations, one numbered file each.
//
//go:embed *.sql
var FS embed.FS
