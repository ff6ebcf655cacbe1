package main

import (
	"fmt"
	"io"

	"github.com/alecthomas/kingpin/v2"

	"github.com/alertrouter/alertrouter/config"
)

type configCheckCmd struct {
	configFile *string
}

func newConfigCheckCmd(app *kingpin.Application) *configCheckCmd {
	cmd := app.Command("config", "Work with configuration files.").Command("check", "Validate a configuration file.")
	return &configCheckCmd{configFile: configFileFlag(cmd, "Configuration file to check.").Required().String()}
}

// run prints the verdict; it exits 1 when the file is invalid.
func (c *configCheckCmd) run(stdout, stderr io.Writer) int {
	cfg, err := config.LoadFileOrDefault(*c.configFile)
	if err != nil {
		fmt.Fprintf(stderr, "FAILED: %v\n", err)
		return 1
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(stderr, "WARNING: %s\n", w)
	}
	fmt.Fprintf(stdout, "SUCCESS: %s is valid: %d receivers, %d routes, default receivers %v\n",
		*c.configFile, len(cfg.Receivers), len(cfg.Routes), cfg.DefaultReceivers)
	return 0
}
