package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/alecthomas/kingpin/v2"

	"github.com/alertrouter/alertrouter/rules"
)

// rulesCmd holds `rules list`, `rules show` and `rules export`; `rules lint` and
// `rules checks` live in ruleslint.go.
type rulesCmd struct {
	showName  *string
	showSets  *[]string
	showTests *bool

	exportDir     *string
	exportPacks   *[]string
	exportSets    *[]string
	exportNoTests *bool
}

func newRulesCmd(rulesGroup *kingpin.CmdClause) *rulesCmd {
	c := &rulesCmd{}
	rulesGroup.Command("list", "List the shipped rule packs, their alerts and the values export can set.")
	show := rulesGroup.Command("show", "Print a pack's rule file, rendered with its defaults or --set values.")
	c.showName = show.Arg("pack", "Pack name: "+strings.Join(rules.Names(), ", ")+".").Required().Enum(rules.Names()...)
	c.showSets = setFlag(show)
	c.showTests = show.Flag("tests", "Print the promtool unit tests instead of the rules.").Bool()

	export := rulesGroup.Command("export", "Write rule packs (and their promtool tests, in DIR/tests) for Prometheus to load.")
	c.exportDir = export.Flag("dir", "Directory to write into; created if missing.").Required().String()
	c.exportPacks = export.Flag("pack", "Pack to export; repeat for several. Default: all.").Enums(rules.Names()...)
	c.exportSets = setFlag(export)
	c.exportNoTests = export.Flag("no-tests", "Do not write the promtool unit tests.").Bool()
	return c
}

func setFlag(cmd *kingpin.CmdClause) *[]string {
	return cmd.Flag("set", "Set a pack value, as PACK.NAME=VALUE; repeat for several. `rules list` shows them.").PlaceHolder("KEY=VALUE").Strings()
}

func (c *rulesCmd) list(stdout io.Writer) int {
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PACK\tALERTS\tDESCRIPTION")
	for _, p := range rules.Packs() {
		fmt.Fprintf(w, "%s\t%s\t%s\n", p.Name, strings.Join(p.Alerts, ", "), p.Description)
	}
	fmt.Fprintln(w, "\nVALUE (--set)\tDEFAULT\tTYPE\tMEANING")
	for _, p := range rules.Packs() {
		for _, param := range p.Params {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", param.Key, param.Default, param.Type, param.Doc)
		}
	}
	w.Flush()
	return 0
}

func (c *rulesCmd) show(stdout, stderr io.Writer) int {
	values, err := rules.ParseSets(*c.showSets)
	if err != nil {
		fmt.Fprintf(stderr, "alertrouter: %v\n", err)
		return 2
	}
	p, _ := rules.Lookup(*c.showName) // kingpin checked the name
	r, err := p.Render(values)
	if err != nil {
		fmt.Fprintf(stderr, "alertrouter: %v\n", err)
		return 2
	}
	if *c.showTests {
		stdout.Write(r.Tests)
	} else {
		stdout.Write(r.Rules)
	}
	return 0
}

func (c *rulesCmd) export(stdout, stderr io.Writer) int {
	values, err := rules.ParseSets(*c.exportSets)
	if err != nil {
		fmt.Fprintf(stderr, "alertrouter: %v\n", err)
		return 2
	}
	written, err := rules.Export(*c.exportDir, *c.exportPacks, values, !*c.exportNoTests)
	for _, path := range written {
		fmt.Fprintf(stdout, "wrote %s\n", path)
	}
	if err != nil {
		fmt.Fprintf(stderr, "alertrouter: rules export: %v\n", err)
		return 1
	}
	return 0
}
