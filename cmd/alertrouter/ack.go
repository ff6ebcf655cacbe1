package main

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"time"

	"github.com/alecthomas/kingpin/v2"
)

// ackCmd acknowledges alerts on a running alertrouter: no more repeats of their episode.
type ackCmd struct {
	api             *apiClient
	targets         *[]string
	author, comment *string
}

func newAckCmd(app *kingpin.Application) *ackCmd {
	cmd := app.Command("ack", "Acknowledge alerts: their current episode is not repeated at any receiver until it resolves (the resolution names you) or a new one starts.")
	return &ackCmd{
		api:     newAPIClient(cmd),
		targets: cmd.Arg("alert", `An alert's fingerprint, or label matchers selecting firing alerts ('alertname="GPUDown"' 'hostgroup="gpu-render-a"').`).Required().Strings(),
		author:  cmd.Flag("author", "Who has it (when the token is a program's).").Default(currentUser()).String(),
		comment: cmd.Flag("comment", "Why, or what is being done.").String(),
	}
}

var fingerprintArg = regexp.MustCompile(`^[0-9a-f]{16}$`)

// run exits 0 when some alert was acknowledged, 1 when none was (or alertrouter said no).
func (c *ackCmd) run(stdout, stderr io.Writer) int {
	form := url.Values{"author": {*c.author}, "comment": {*c.comment}, "source": {"cli"}}
	path := "/api/v1/acks"
	if targets := *c.targets; len(targets) == 1 && fingerprintArg.MatchString(targets[0]) {
		path = "/api/v1/alerts/" + targets[0] + "/ack"
	} else {
		form["match"] = targets
	}
	var acks []struct {
		Fingerprint string    `json:"fingerprint"`
		AlertName   string    `json:"alertname"`
		StartsAt    time.Time `json:"startsAt"`
		Author      string    `json:"author"`
		At          time.Time `json:"at"`
		Earlier     bool      `json:"earlier"`
	}
	if err := c.api.post(path, form, &acks); err != nil {
		fmt.Fprintf(stderr, "alertrouter: %v\n", err)
		return 1
	}
	if len(acks) == 0 {
		fmt.Fprintln(stderr, "alertrouter: no firing alert matches")
		return 1
	}
	for _, a := range acks {
		verb := "acknowledged"
		if a.Earlier {
			verb = "already acknowledged"
		}
		fmt.Fprintf(stdout, "%s %s %s (firing since %s) by %s at %s\n", verb, a.Fingerprint, a.AlertName,
			a.StartsAt.Format(time.RFC3339), a.Author, a.At.Format(time.RFC3339))
	}
	return 0
}

// currentUser is who runs the command, the default author: $USER, else "cli".
func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "cli"
}
