// Command alertrouter receives Alertmanager webhooks and routes each alert by its host
// group to Slack, email, Aliyun CloudMonitor, webhooks or a log, exactly once per receiver.
package main

import (
	"fmt"
	"os"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"

	"github.com/alertrouter/alertrouter/config"
)

const (
	defaultStoragePath   = "data/"
	defaultListenAddress = ":9095"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run parses the command line and runs one subcommand, returning the exit code.
func run(args []string) int {
	app := kingpin.New("alertrouter", "Routes Alertmanager alerts by host group to Slack, email, Aliyun CloudMonitor and webhooks, with dedupe in SQLite.")
	app.HelpFlag.Short('h')
	var logConfig promslog.Config
	promslogflag.AddFlags(app, &logConfig)

	serve := newServeCmd(app)
	check := newConfigCheckCmd(app)
	route := newRouteTestCmd(app)
	migrate := newMigrateCmd(app)
	app.Command("version", "Print version, commit and Go version.")

	cmd, err := app.Parse(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "alertrouter: %v (try --help)\n", err)
		return 2
	}
	logger := promslog.New(&logConfig)
	switch cmd {
	case "serve":
		err = serve.run(logger)
	case "config check":
		return check.run(os.Stdout, os.Stderr)
	case "route test":
		return route.run(os.Stdout, os.Stderr)
	case "migrate":
		err = migrate.run(logger)
	case "version":
		fmt.Println(version.Print("alertrouter"))
	}
	if err != nil {
		logger.Error("alertrouter failed", "err", err)
		return 1
	}
	return 0
}

// loadConfig loads file, or the embedded default when file is empty.
func loadConfig(file string) (*config.Config, error) {
	if file == "" {
		return config.Default(), nil
	}
	return config.LoadFile(file)
}

func configFileFlag(cmd *kingpin.CmdClause, help string) *kingpin.FlagClause {
	return cmd.Flag("config.file", help).PlaceHolder("alertrouter.yml")
}

func init() {
	if version.Version == "" {
		version.Version = "dev"
	}
}
