package main

import (
	"context"
	"log/slog"

	"github.com/alecthomas/kingpin/v2"

	"github.com/alertrouter/alertrouter/store"
)

type migrateCmd struct {
	storagePath *string
}

func newMigrateCmd(app *kingpin.Application) *migrateCmd {
	cmd := app.Command("migrate", "Apply database migrations (serve applies them on start too).")
	return &migrateCmd{storagePath: cmd.Flag("storage.path", "Directory of the SQLite database.").Default(defaultStoragePath).String()}
}

func (c *migrateCmd) run(logger *slog.Logger) error {
	ctx := context.Background()
	st, err := store.Open(ctx, *c.storagePath)
	if err != nil {
		return err
	}
	defer st.Close()
	current, latest, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	logger.Info("Database is up to date", "path", st.Path(), "version", current, "latest", latest)
	return nil
}
