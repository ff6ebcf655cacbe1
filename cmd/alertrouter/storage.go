package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/alecthomas/kingpin/v2"

	"github.com/alertrouter/alertrouter/store"
)

// storageFlags choose the database of every command that opens the store: a SQLite
// directory (the default), or a PostgreSQL URL shared by replicas, given inline or read
// from a file so that the password stays out of `ps`.
type storageFlags struct {
	path    *string
	url     *string
	urlFile *string
	// pathSet tells an explicit --storage.path from its default, for the exclusion.
	pathSet bool
}

func newStorageFlags(cmd *kingpin.CmdClause, defaultPath string) *storageFlags {
	f := &storageFlags{}
	f.path = cmd.Flag("storage.path", "Directory of the SQLite database.").Default(defaultPath).
		IsSetByUser(&f.pathSet).String()
	f.url = cmd.Flag("storage.url", "PostgreSQL URL shared by replicas (postgres://user@host:5432/db?sslmode=verify-full), instead of --storage.path.").String()
	f.urlFile = cmd.Flag("storage.url-file", "File holding the PostgreSQL URL, so that its password stays out of ps.").String()
	return f
}

// postgresURL is the PostgreSQL URL, "" for SQLite; it refuses both backends at once.
func (f *storageFlags) postgresURL() (string, error) {
	if *f.url != "" && *f.urlFile != "" {
		return "", errors.New("--storage.url and --storage.url-file are mutually exclusive")
	}
	u := *f.url
	if *f.urlFile != "" {
		b, err := os.ReadFile(*f.urlFile)
		if err != nil {
			return "", fmt.Errorf("--storage.url-file: %w", err)
		}
		if u = strings.TrimSpace(string(b)); u == "" {
			return "", fmt.Errorf("--storage.url-file %s is empty", *f.urlFile)
		}
	}
	if u != "" && f.pathSet {
		return "", errors.New("--storage.path and --storage.url are mutually exclusive: SQLite in a directory, or PostgreSQL")
	}
	return u, nil
}

// open opens the chosen store.
func (f *storageFlags) open(ctx context.Context) (*store.Store, error) {
	u, err := f.postgresURL()
	if err != nil {
		return nil, err
	}
	if u != "" {
		return store.OpenPostgres(ctx, u)
	}
	return store.Open(ctx, *f.path)
}
