package slack

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/receivers/receivertest"
	"github.com/alertrouter/alertrouter/receivers/slack/slacktest"
)

// withLinks gives each firing alert of m action links whose tokens name the alert and action.
func withLinks(m *receivers.Message) {
	for i, a := range m.Data.Alerts {
		if a.Status != "firing" {
			continue
		}
		for j, name := range receivers.LinkAnnotations {
			a.Annotations[name] = "/act/" + ActionIDs[j] + "-" + string(rune('a'+i))
		}
	}
}

// buttonsOf are the rows of buttons of atts: block id -> action id -> value.
func buttonsOf(atts []slack.Attachment) map[string]map[string]string {
	rows := map[string]map[string]string{}
	for _, att := range atts {
		for _, b := range att.Blocks.BlockSet {
			if row, ok := b.(*slack.ActionBlock); ok {
				rows[row.BlockID] = map[string]string{}
				for _, e := range row.Elements.ElementSet {
					button := e.(*slack.ButtonBlockElement)
					rows[row.BlockID][button.ActionID] = button.Value
				}
			}
		}
	}
	return rows
}

// contextLines are the texts of atts' context blocks.
func contextLines(atts []slack.Attachment) []string {
	var lines []string
	for _, att := range atts {
		for _, b := range att.Blocks.BlockSet {
			if c, ok := b.(*slack.ContextBlock); ok {
				for _, e := range c.ContextElements.Elements {
					lines = append(lines, e.(*slack.TextBlockObject).Text)
				}
			}
		}
	}
	return lines
}

// With an app token, each firing alert of a message gets a row of buttons carrying its
// links' tokens; without, the same message has none and no blocks.
func TestButtonsCarryTheLinksTokens(t *testing.T) {
	f := slacktest.New(t)
	m := receivertest.Message(2, "firing", "critical")
	withLinks(m)
	plain := newReceiver(t, Config{BotToken: "xoxb-s3cr3t", Channel: "#ops", APIURL: f.URL() + "/api"})
	if show, _ := plain.ActionLinks(); show {
		t.Error("a receiver without an app token asks for action links")
	}
	buttons := newReceiver(t, Config{BotToken: "xoxb-s3cr3t", AppToken: slacktest.AppToken, Channel: "#ops", APIURL: f.URL() + "/api"})
	if show, asButtons := buttons.ActionLinks(); !show || !asButtons {
		t.Error("a receiver with an app token does not ask for its buttons' links")
	}
	for _, r := range []*Receiver{plain, buttons} {
		if err := r.Send(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	msgs := f.Messages()
	atts0, _ := msgs[0].Attachments()
	if len(atts0[0].Blocks.BlockSet) != 0 || !strings.Contains(atts0[0].Text, "GPUTemperatureHigh") {
		t.Fatalf("without an app token: %+v", atts0[0])
	}
	atts, err := msgs[1].Attachments()
	if err != nil {
		t.Fatal(err)
	}
	if atts[0].Fallback == "" || atts[0].Color != "danger" {
		t.Errorf("the attachment lost its fallback or color: %+v", atts[0])
	}
	rows := buttonsOf(atts)
	for i, a := range m.Data.Alerts {
		row := rows[BlockIDPrefix+a.Fingerprint]
		for _, id := range ActionIDs {
			if want := id + "-" + string(rune('a'+i)); row[id] != want {
				t.Errorf("alert %d, button %s carries %q, want %q", i, id, row[id], want)
			}
		}
	}
	if len(rows) != 2 {
		t.Errorf("%d rows of buttons, want 2", len(rows))
	}
}

// presses records what Listen hands to act, and answers as scripted.
type presses struct {
	mu  sync.Mutex
	got []receivers.Press
	err error
}

func (p *presses) act(_ context.Context, press receivers.Press) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, press)
	if p.err != nil {
		return "", p.err
	}
	return press.User + " did " + press.Token + " <!channel>", nil
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Over Socket Mode against the fake: a press reaches act with the button's token and the
// user, its envelope is acknowledged, and the message is updated (the pressed button gone,
// a line saying what was done); a silence removes the row; a refusal goes to the user
// alone; a bad app token ends Listen with an error that does not quote it.
func TestPressesOverSocketMode(t *testing.T) {
	f := slacktest.New(t)
	conf := Config{BotToken: "xoxb-s3cr3t", AppToken: slacktest.AppToken, Channel: "#ops", APIURL: f.URL() + "/api"}
	r := newReceiver(t, conf)
	m := receivertest.Message(2, "firing", "critical")
	withLinks(m)
	if err := r.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	ts := f.Messages()[0].TS

	p := &presses{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.conf.Listen(ctx, slog.New(slog.DiscardHandler), p.act) }()
	eventually(t, "the Socket Mode connection", f.Connected)

	if err := f.Press(ts, ActionIDs[0], "U1", "alice"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the message's update", func() bool { return len(f.Updates()) == 1 })
	p.mu.Lock()
	got := slices.Clone(p.got)
	p.mu.Unlock()
	if len(got) != 1 || got[0] != (receivers.Press{Token: ActionIDs[0] + "-a", User: "alice"}) {
		t.Fatalf("presses acted on: %+v", got)
	}
	u := f.Updates()[0]
	if u.TS != ts || u.Form.Get("channel") != "C1" {
		t.Errorf("updated %q in %q, want %q in C1", u.TS, u.Form.Get("channel"), ts)
	}
	atts, _ := u.Attachments()
	rows := buttonsOf(atts)
	first, second := BlockIDPrefix+m.Data.Alerts[0].Fingerprint, BlockIDPrefix+m.Data.Alerts[1].Fingerprint
	if _, ok := rows[first][ActionIDs[0]]; ok || len(rows[first]) != 2 || len(rows[second]) != 3 {
		t.Errorf("after an ack, the rows are %v: want the pressed Acknowledge gone, the rest kept", rows)
	}
	if lines := contextLines(atts); !slices.Contains(lines, "alice did alertrouter_ack-a &lt;!channel&gt; (<@U1>)") {
		t.Errorf("the message says %q", lines)
	}

	if err := f.Press(ts, ActionIDs[1], "U2", "bob"); err != nil { // on the updated message
		t.Fatal(err)
	}
	eventually(t, "the second update", func() bool { return len(f.Updates()) == 2 })
	atts, _ = f.Updates()[1].Attachments()
	if rows := buttonsOf(atts); len(rows) != 1 || rows[second] == nil {
		t.Errorf("after a silence, the rows are %v: want the silenced alert's gone", rows)
	}
	if lines := contextLines(atts); len(lines) < 2 {
		t.Errorf("the message lost the first line: %q", lines)
	}

	// Slack refreshes connections now and then: the app connects again, and presses go on.
	if err := f.Disconnect(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the connection made again", func() bool { return f.Connections() == 2 && f.Connected() })

	p.mu.Lock()
	p.err = errors.New("this link has expired")
	p.mu.Unlock()
	if err := f.Press(ts, ActionIDs[0], "U3", "carol"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the refusal", func() bool { return len(f.Ephemerals()) == 1 })
	if e := f.Ephemerals()[0]; e.Form.Get("user") != "U3" || e.Form.Get("text") != "this link has expired" {
		t.Errorf("the refusal: user %q, text %q", e.Form.Get("user"), e.Form.Get("text"))
	}
	if len(f.Updates()) != 2 {
		t.Error("a refused press updated the message")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Listen after its context ended: %v", err)
	}

	bad := conf
	bad.AppToken = "xapp-1-wrong-s3cr3t"
	if err := newReceiver(t, bad).conf.Listen(t.Context(), slog.New(slog.DiscardHandler), p.act); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("a refused app token: %v", err)
	}
}

// With buttons, the title and text share a section, which Slack refuses past 3,000
// characters: however long the summary and the title, the section fits.
func TestButtonsSectionFitsSlacksLimit(t *testing.T) {
	f := slacktest.New(t)
	m := receivertest.Message(1, "firing", "critical")
	m.Data.Alerts[0].Annotations["summary"] = strings.Repeat("disk full ", 500)
	withLinks(m)
	r := newReceiver(t, Config{BotToken: "xoxb-s3cr3t", AppToken: slacktest.AppToken, Channel: "#ops", APIURL: f.URL() + "/api",
		Title: strings.Repeat("T", 4000)})
	if err := r.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	atts, err := f.Messages()[0].Attachments()
	if err != nil {
		t.Fatal(err)
	}
	section := atts[0].Blocks.BlockSet[0].(*slack.SectionBlock)
	if n := len(section.Text.Text); n > maxSectionText || n < maxSectionText-100 {
		t.Errorf("the section has %d bytes: want the most of %d", n, maxSectionText)
	}
	if len(buttonsOf(atts)) != 1 {
		t.Error("the buttons are gone")
	}
}
