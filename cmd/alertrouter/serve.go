package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/router"
)

// Shutdown bounds: webhook requests in flight, then delivery attempts in flight.
const (
	httpShutdownTimeout = 10 * time.Second
	drainTimeout        = 35 * time.Second
)

type serveCmd struct {
	configFile, listenAddress *string
	// webConfigFile is Prometheus's web.config (exporter-toolkit): TLS, client
	// certificates, HTTP/2, response headers.
	webConfigFile *string
	storage       *storageFlags
	readTimeout   *time.Duration
	// watchdogOnly is the `watchdog` command: the same process, which must have a
	// watchdog section, with its own port and database so that it can run beside a
	// router on one host, or alone on a second host.
	watchdogOnly bool
}

func newServeCmd(app *kingpin.Application) *serveCmd {
	cmd := app.Command("serve", "Run the router (and the watchdog, when the config has a watchdog section).").Default()
	return &serveCmd{
		configFile:    configFileFlag(cmd, "Configuration file; the embedded default (everything to the log receiver) when empty.").String(),
		listenAddress: cmd.Flag("web.listen-address", "Address to listen on for webhooks, the API and metrics.").Default(defaultListenAddress).String(),
		webConfigFile: webConfigFlag(cmd),
		storage:       newStorageFlags(cmd, defaultStoragePath),
		readTimeout:   readTimeoutFlag(cmd),
	}
}

func newWatchdogCmd(app *kingpin.Application) *serveCmd {
	cmd := app.Command("watchdog", "Run the watchdog on its own, e.g. on a second host: a watchdog beside Prometheus dies with it. It delivers its events and takes the heartbeat on /webhook.")
	return &serveCmd{
		configFile:    configFileFlag(cmd, "Configuration file with a watchdog section and its receivers.").Required().String(),
		listenAddress: cmd.Flag("web.listen-address", "Address to listen on for heartbeats, the API and metrics.").Default(defaultWatchdogListenAddress).String(),
		webConfigFile: webConfigFlag(cmd),
		storage:       newStorageFlags(cmd, defaultWatchdogStoragePath),
		readTimeout:   readTimeoutFlag(cmd),
		watchdogOnly:  true,
	}
}

func webConfigFlag(cmd *kingpin.CmdClause) *string {
	return cmd.Flag("web.config.file", "Web configuration file (TLS, client certificates, HTTP/2, response headers), in the format of Prometheus's web.config (exporter-toolkit).").Default("").String()
}

func readTimeoutFlag(cmd *kingpin.CmdClause) *time.Duration {
	return cmd.Flag("web.read-timeout", "Maximum duration before timing out read of the request, and closing idle connections.").Default("30s").Duration()
}

func (c *serveCmd) run(logger *slog.Logger, stdout io.Writer) error {
	logger.Info("Starting alertrouter", "version", version.Info())
	if *c.readTimeout <= 0 {
		return fmt.Errorf("--web.read-timeout must be positive, got %s", *c.readTimeout)
	}
	cfg, err := config.LoadFileOrDefault(*c.configFile)
	if err != nil {
		return err
	}
	if c.watchdogOnly && cfg.Watchdog == nil {
		return fmt.Errorf("%s has no watchdog section: nothing to watch", *c.configFile)
	}
	if *c.webConfigFile != "" {
		if err := web.Validate(*c.webConfigFile); err != nil {
			return fmt.Errorf("--web.config.file %s: %w", *c.webConfigFile, err)
		}
	}
	if !cfg.Web.AuthEnabled() {
		logger.Warn("No web.users or web.api_tokens: the console and the API are open to anyone who reaches this port")
	}
	if *c.configFile == "" {
		logger.Info("No --config.file given: using the embedded default config, every alert goes to the log receiver on stdout")
	}
	for _, w := range cfg.Warnings() {
		logger.Warn("Config warning", "problem", w)
	}

	ctx := context.Background()
	st, err := c.storage.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	logger.Info("Store opened", "database", st.Where(), "replicated", st.Replicated())

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector("alertrouter"))
	srv, err := router.New(cfg, router.Options{
		Store: st, Logger: logger, Registerer: reg, Gatherer: reg, ConfigFile: *c.configFile, Stdout: stdout,
	})
	if err != nil {
		return err
	}
	// Let go of what starting took before serving: the migrations' parser (goose) keeps
	// 4 MiB buffers in a sync.Pool, which only the second collection frees, and an idle
	// process collects once in two minutes. Without this, one start in three or four was
	// 4 MiB larger at idle than the others.
	runtime.GC()
	debug.FreeOSMemory()

	ln, err := net.Listen("tcp", *c.listenAddress)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	httpSrv := srv.HTTPServer(*c.readTimeout)
	httpErr := make(chan error, 1)
	noSystemd := false
	webFlags := &web.FlagConfig{WebListenAddresses: &[]string{*c.listenAddress}, WebSystemdSocket: &noSystemd, WebConfigFile: c.webConfigFile}
	go func() { httpErr <- web.Serve(ln, httpSrv, webFlags, logger) }()

	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	runDone := make(chan struct{})
	go func() {
		srv.Run(runCtx)
		close(runDone)
	}()

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGHUP, syscall.SIGTERM, os.Interrupt)
	for {
		select {
		case err := <-httpErr:
			return fmt.Errorf("http server: %w", err)
		case sig := <-signals:
			if sig == syscall.SIGHUP {
				_ = srv.Reload() // logged and counted by Reload; the old config keeps serving
				continue
			}
			logger.Info("Shutting down", "signal", sig.String())
			return shutdown(logger, httpSrv, stopRun, runDone)
		}
	}
}

// shutdown stops taking webhooks (finishing those in flight), then lets delivery
// attempts in flight finish, within bounds. What is still pending stays in the store.
func shutdown(logger *slog.Logger, httpSrv *http.Server, stopRun context.CancelFunc, runDone <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("Webhook requests did not finish in time", "err", err)
	}
	stopRun()
	select {
	case <-runDone:
		logger.Info("Deliveries drained, bye")
	case <-time.After(drainTimeout):
		logger.Warn("Deliveries still in flight after the drain timeout; they stay pending and resume at the next start")
	}
	return nil
}
