// Command alertrouter receives Alertmanager webhooks and routes each alert by its host
// group to Slack, email, Aliyun CloudMonitor, webhooks or a log, exactly once per receiver.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
)

const (
	defaultStoragePath   = "data/"
	defaultListenAddress = ":9095"
	// The standalone watchdog's own port and database, so that it can run beside a router.
	defaultWatchdogListenAddress = ":9096"
	defaultWatchdogStoragePath   = "data-watchdog/"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses the command line and runs one subcommand, returning the exit code:
// 0 success, 1 failure, 2 bad usage.
func run(args []string, stdout, stderr io.Writer) int {
	app := kingpin.New("alertrouter", "Routes Alertmanager alerts by host group to Slack, email, Aliyun CloudMonitor and webhooks, with dedupe in SQLite.")
	app.HelpFlag.Short('h')
	// --help and --version end the program through Terminate: record the code instead of
	// exiting, so that run stays testable.
	exitCode := -1
	app.UsageWriter(stdout).ErrorWriter(stderr).Terminate(func(code int) {
		if exitCode < 0 {
			exitCode = code
		}
	})
	var logConfig promslog.Config
	promslogflag.AddFlags(app, &logConfig)

	serve := newServeCmd(app)
	watchdogCmd := newWatchdogCmd(app)
	check := newConfigCheckCmd(app)
	route := newRouteTestCmd(app)
	migrate := newMigrateCmd(app)
	backup := newBackupCmd(app)
	sendTest := newSendTestCmd(app)
	hashPassword := newHashPasswordCmd(app)
	ack := newAckCmd(app)
	silence := newSilenceCmds(app)
	rulesGroup := app.Command("rules", "Export the shipped rule packs and lint rule files.")
	rulesCmd := newRulesCmd(rulesGroup)
	rulesLint := newRulesLintCmd(rulesGroup)
	app.Command("version", "Print version, commit and Go version.")

	cmd, err := app.Parse(args)
	if exitCode >= 0 {
		return exitCode
	}
	if err != nil {
		fmt.Fprintf(stderr, "alertrouter: %v (try --help)\n", err)
		return 2
	}
	logConfig.Writer = stderr
	logger := promslog.New(&logConfig)
	switch cmd {
	case "serve":
		err = serve.run(logger, stdout)
	case "watchdog":
		err = watchdogCmd.run(logger, stdout)
	case "config check":
		return check.run(stdout, stderr)
	case "route test":
		return route.run(stdout, stderr)
	case "send-test":
		return sendTest.run(stdout, stderr)
	case "hash-password":
		return hashPassword.run(os.Stdin, stdout, stderr)
	case "ack":
		return ack.run(stdout, stderr)
	case "silence add":
		return silence.add(stdout, stderr)
	case "silence list":
		return silence.list(stdout, stderr)
	case "silence expire":
		return silence.expire(stdout, stderr)
	case "rules list":
		return rulesCmd.list(stdout)
	case "rules show":
		return rulesCmd.show(stdout, stderr)
	case "rules export":
		return rulesCmd.export(stdout, stderr)
	case "rules lint":
		return rulesLint.run(stdout, stderr)
	case "rules checks":
		return listChecks(stdout)
	case "migrate":
		err = migrate.run(logger)
	case "backup":
		err = backup.run(stdout)
	case "version":
		fmt.Fprintln(stdout, version.Print("alertrouter"))
	}
	if err != nil {
		logger.Error("alertrouter failed", "err", err)
		return 1
	}
	return 0
}

func configFileFlag(cmd *kingpin.CmdClause, help string) *kingpin.FlagClause {
	return cmd.Flag("config.file", help).PlaceHolder("alertrouter.yml")
}

func init() {
	if version.Version == "" {
		version.Version = "dev"
	}
}
