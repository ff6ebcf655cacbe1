package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/internal/loadgen"
	"github.com/alertrouter/alertrouter/store"
)

// runPrefill fills the store at where (a storage directory, or a postgres:// URL) with
// alerts alerts, delivered with the receivers of configFile (loadgen.Config when empty).
func runPrefill(where, configFile string, alerts int) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg, err := config.Load([]byte(loadgen.Config), "amload")
	if configFile != "" {
		cfg, err = config.LoadFile(configFile)
	}
	if err != nil {
		return err
	}
	var st *store.Store
	if strings.HasPrefix(where, "postgres://") || strings.HasPrefix(where, "postgresql://") {
		st, err = store.OpenPostgres(ctx, where)
	} else {
		st, err = store.Open(ctx, where)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	if err := loadgen.Prefill(ctx, st, cfg, alerts, os.Stderr); err != nil {
		return err
	}
	fmt.Printf("amload: %s now holds %d more alerts, delivered (%s)\n", st.Where(), alerts, time.Since(start).Round(time.Second))
	return nil
}
