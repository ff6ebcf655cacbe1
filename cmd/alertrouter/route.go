package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/alecthomas/kingpin/v2"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/router"
)

type routeTestCmd struct {
	configFile      *string
	labels          *[]string
	verifyReceivers *string
}

func newRouteTestCmd(app *kingpin.Application) *routeTestCmd {
	cmd := app.Command("route", "Explain routing decisions.").Command("test",
		"Show which route and receivers an alert with the given labels reaches, like amtool config routes test.")
	return &routeTestCmd{
		configFile:      configFileFlag(cmd, "Configuration file; the embedded default when empty.").String(),
		verifyReceivers: cmd.Flag("verify.receivers", "Comma-separated receivers the alert must reach; exit 1 when it reaches others.").String(),
		labels:          cmd.Arg("labels", "Alert labels, as name=value.").Required().Strings(),
	}
}

func (c *routeTestCmd) run(stdout, stderr io.Writer) int {
	cfg, err := config.LoadFileOrDefault(*c.configFile)
	if err != nil {
		fmt.Fprintf(stderr, "FAILED: %v\n", err)
		return 1
	}
	ls, err := config.ParseLabels(*c.labels)
	if err != nil {
		fmt.Fprintf(stderr, "FAILED: %v\n", err)
		return 2
	}
	routes := router.NewRoutes(cfg)
	d := routes.Route(ls)
	var got []string
	for _, t := range d.Targets {
		got = append(got, t.Receiver)
	}
	for _, line := range d.Explain(ls) {
		fmt.Fprintln(stdout, line)
	}
	if *c.verifyReceivers != "" {
		want := strings.Split(*c.verifyReceivers, ",")
		slices.Sort(want)
		sorted := slices.Sorted(slices.Values(got))
		if !slices.Equal(want, sorted) {
			fmt.Fprintf(stderr, "FAILED: receivers %v, want %v\n", sorted, want)
			return 1
		}
	}
	return 0
}
