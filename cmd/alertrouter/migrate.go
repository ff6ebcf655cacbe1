package main

import (
	"context"
	"log/slog"

	"github.com/alecthomas/kingpin/v2"
)

type migrateCmd struct {
	storage *storageFlags
}

func newMigrateCmd(app *kingpin.Application) *migrateCmd {
	cmd := app.Command("migrate", "Apply database migrations (serve applies them on start too).")
	return &migrateCmd{storage: newStorageFlags(cmd, defaultStoragePath)}
}

func (c *migrateCmd) run(logger *slog.Logger) error {
	ctx := context.Background()
	st, err := c.storage.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	current, latest, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	logger.Info("Database is up to date", "database", st.Where(), "version", current, "latest", latest)
	return nil
}
