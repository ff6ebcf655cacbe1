package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/alecthomas/kingpin/v2"

	"github.com/alertrouter/alertrouter/store"
)

type backupCmd struct {
	storage *storageFlags
	output  *string
}

func newBackupCmd(app *kingpin.Application) *backupCmd {
	cmd := app.Command("backup", "Write a consistent copy of the database, safe while alertrouter runs. Restore by putting the copy at STORAGE_PATH/"+store.FileName+".")
	return &backupCmd{
		storage: newStorageFlags(cmd, defaultStoragePath),
		output:  cmd.Arg("file", "Where to write the copy; must not exist.").Required().String(),
	}
}

func (c *backupCmd) run(stdout io.Writer) error {
	u, err := c.storage.postgresURL()
	if err != nil {
		return err
	}
	if u != "" {
		return errors.New("backup copies a SQLite database; back up PostgreSQL with its own tools: pg_dump (or your provider's snapshots, e.g. Aliyun RDS backups)")
	}
	if err := store.Backup(context.Background(), *c.storage.path, *c.output); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", *c.output)
	return nil
}
