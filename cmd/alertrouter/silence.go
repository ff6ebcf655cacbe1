package main

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"
)

// silenceCmds add, list and expire silences on a running alertrouter, which keeps them on
// every Alertmanager.
type silenceCmds struct {
	api                     *apiClient
	addMatchers             *[]string
	duration, until, preset *string
	comment, author         *string
	expireID                *int64
}

func newSilenceCmds(app *kingpin.Application) *silenceCmds {
	group := app.Command("silence", "Silence alerts on every Alertmanager, through the running alertrouter.")
	c := &silenceCmds{api: newAPIClient(group)}
	add := group.Command("add", "Add a silence, or extend the active one with the same matchers.")
	c.addMatchers = add.Arg("matchers", `Label matchers: 'hostgroup="gpu-render-a"' 'alertname="ComfyUI_Down"'.`).Required().Strings()
	c.duration = add.Flag("duration", "How long: 2h, 30m, 1d.").String()
	c.until = add.Flag("until", "Until when, RFC 3339 (instead of --duration).").String()
	c.preset = add.Flag("preset", "1h, 4h, or tomorrow (09:00 tomorrow in global.timezone).").Enum("1h", "4h", "tomorrow")
	c.comment = add.Flag("comment", "Why.").Required().String()
	c.author = add.Flag("author", "Who (when the token is a program's).").Default(currentUser()).String()
	group.Command("list", "List the active silences, and those that ended in the last day.")
	expire := group.Command("expire", "End a silence now, on every Alertmanager.")
	c.expireID = expire.Arg("id", "The silence's id (silence list).").Required().Int64()
	return c
}

// silenceAnswer is a silence as the API answers it.
type silenceAnswer struct {
	ID        int64     `json:"id"`
	Matchers  string    `json:"matchers"`
	EndsAt    time.Time `json:"endsAt"`
	CreatedBy string    `json:"createdBy"`
	Comment   string    `json:"comment"`
	Active    bool      `json:"active"`
	Extended  bool      `json:"extended"`
	Copies    []struct {
		Alertmanager string `json:"alertmanager"`
		Has          bool   `json:"has"`
		LastError    string `json:"lastError"`
	} `json:"alertmanagers"`
}

// where says which Alertmanagers have the silence.
func (s silenceAnswer) where() string {
	var parts []string
	for _, c := range s.Copies {
		state := "has it"
		if !c.Has {
			state = "not yet"
			if c.LastError != "" {
				state += " (" + c.LastError + ")"
			}
		}
		parts = append(parts, c.Alertmanager+": "+state)
	}
	return strings.Join(parts, ", ")
}

func (c *silenceCmds) add(stdout, stderr io.Writer) int {
	form := url.Values{"match": *c.addMatchers, "comment": {*c.comment}, "author": {*c.author},
		"duration": {*c.duration}, "until": {*c.until}, "preset": {*c.preset}}
	var s silenceAnswer
	if err := c.api.post("/api/v1/silences", form, &s); err != nil {
		fmt.Fprintf(stderr, "alertrouter: %v\n", err)
		return 1
	}
	verb := "added"
	if s.Extended {
		verb = "extended"
	}
	fmt.Fprintf(stdout, "silence %d %s: %s until %s\n", s.ID, verb, s.Matchers, s.EndsAt.Format(time.RFC3339))
	return 0
}

func (c *silenceCmds) list(stdout, stderr io.Writer) int {
	var list []silenceAnswer
	if err := c.api.get("/api/v1/silences", &list); err != nil {
		fmt.Fprintf(stderr, "alertrouter: %v\n", err)
		return 1
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tMATCHERS\tUNTIL\tBY\tCOMMENT\tALERTMANAGERS")
	for _, s := range list {
		until := s.EndsAt.Format(time.RFC3339)
		if !s.Active {
			until += " (ended)"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Matchers, until, s.CreatedBy, s.Comment, s.where())
	}
	_ = w.Flush()
	return 0
}

func (c *silenceCmds) expire(stdout, stderr io.Writer) int {
	var s silenceAnswer
	if err := c.api.post("/api/v1/silences/"+strconv.FormatInt(*c.expireID, 10)+"/expire", nil, &s); err != nil {
		fmt.Fprintf(stderr, "alertrouter: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "silence %d expired: %s\n", s.ID, s.Matchers)
	return 0
}
