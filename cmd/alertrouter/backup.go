package main

import (
	"context"
	"fmt"
	"io"

	"github.com/alecthomas/kingpin/v2"

	"github.com/alertrouter/alertrouter/store"
)

type backupCmd struct {
	storagePath, output *string
}

func newBackupCmd(app *kingpin.Application) *backupCmd {
	cmd := app.Command("backup", "Write a consistent copy of the database, safe while alertrouter runs. Restore by putting the copy at STORAGE_PATH/"+store.FileName+".")
	return &backupCmd{
		storagePath: cmd.Flag("storage.path", "Directory of the SQLite database.").Default(defaultStoragePath).String(),
		output:      cmd.Arg("file", "Where to write the copy; must not exist.").Required().String(),
	}
}

func (c *backupCmd) run(stdout io.Writer) error {
	if err := store.Backup(context.Background(), *c.storagePath, *c.output); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", *c.output)
	return nil
}
