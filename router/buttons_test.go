package router

import (
	"os"
	"strings"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/alertrouter/alertrouter/receivers/slack"
	"github.com/alertrouter/alertrouter/receivers/slack/slacktest"
	"github.com/alertrouter/alertrouter/silences/silencestest"
	"github.com/alertrouter/alertrouter/store"
)

// buttonsConfig sends every alert to Slack with buttons, silencing on am; no console URL.
func buttonsConfig(slackURL, am string) string {
	return `
alertmanagers:
  - {name: am, url: '` + am + `'}
receivers:
  - name: ops-slack
    slack:
      bot_token: xoxb-test
      app_token: ` + slacktest.AppToken + `
      channel: '#ops'
      api_url: ` + slackURL + `/api/
default_receivers: [ops-slack]
`
}

// lastUpdate is what the lines of the last update of a message say.
func lastUpdate(t *testing.T, f *slacktest.Fake) string {
	t.Helper()
	updates := f.Updates()
	atts, err := updates[len(updates)-1].Attachments()
	if err != nil {
		t.Fatal(err)
	}
	var text string
	for _, b := range atts[0].Blocks.BlockSet {
		if c, ok := b.(*slackgo.ContextBlock); ok {
			for _, e := range c.ContextElements.Elements {
				text += e.(*slackgo.TextBlockObject).Text + "\n"
			}
		}
	}
	return text
}

// A Slack message's buttons, pressed in Slack, reach alertrouter over Socket Mode: the
// ack is recorded as the Slack user's, from that receiver's message, and the message says
// so; the silence lands on the Alertmanager; a press a day later is refused to the presser.
func TestSlackButtons(t *testing.T) {
	f, am := slacktest.New(t), silencestest.New(t, "")
	e := newEnv(t, buttonsConfig(f.URL(), am.URL()), "", true)
	e.mustPost(payload("am1", alert{name: "GPUDown", hostgroup: "gpu-1", instance: "i1"}, alert{name: "GPUDown", hostgroup: "gpu-1", instance: "i2"}))
	eventually(t, "the message, and the Socket Mode connection", func() bool { return len(f.Messages()) == 1 && f.Connected() })
	ts := f.Messages()[0].TS

	if err := f.Press(ts, slack.ActionIDs[0], "U1", "alice"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the message's update", func() bool { return len(f.Updates()) == 1 })
	if got := lastUpdate(t, f); !strings.Contains(got, "alice acknowledged GPUDown on i1 (<@U1>)") {
		t.Errorf("the updated message says %q", got)
	}
	claims, _ := e.store.AlertClaims(t.Context(), fingerprintOf(t, e.list("")[0])) // i1's
	if claims[0].Ack == nil || claims[0].Ack.Author != "alice" || claims[0].Ack.Source != "slack:ops-slack" {
		t.Fatalf("the claim after the press: %+v", claims[0].Ack)
	}

	if err := f.Press(ts, slack.ActionIDs[1], "U2", "bob"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the second update", func() bool { return len(f.Updates()) == 2 })
	if got := lastUpdate(t, f); !strings.Contains(got, "bob silenced GPUDown for 1h0m0s (silence 1) on i1 (<@U2>)") {
		t.Errorf("the updated message says %q", got)
	}
	e.srv.silencer.Sync(t.Context())
	active := am.Active()
	for _, s := range active {
		if s.CreatedBy != "bob" {
			t.Errorf("a silence by %q, want bob", s.CreatedBy)
		}
	}
	if len(active) != 1 {
		t.Fatalf("%d silences on the Alertmanager, want 1", len(active))
	}
	audit, err := e.store.AuditLog(t.Context(), 0, 10)
	if err != nil || len(audit) != 2 || audit[0].Actor != "bob" || !strings.Contains(audit[0].Target, "a Slack button in ops-slack's message") {
		t.Errorf("the audit log: %+v, %v", audit, err)
	}

	e.clock.Add(25 * time.Hour)
	if err := f.Press(ts, slack.ActionIDs[0], "U3", "carol"); err != nil { // i2's
		t.Fatal(err)
	}
	eventually(t, "the refusal", func() bool { return len(f.Ephemerals()) == 1 })
	if e := f.Ephemerals()[0]; e.Form.Get("user") != "U3" || !strings.Contains(e.Form.Get("text"), "expired") {
		t.Errorf("the refusal: to %q, %q", e.Form.Get("user"), e.Form.Get("text"))
	}
	if n := len(e.list(store.Dead)); n != 0 {
		t.Errorf("%d dead notifications", n)
	}
}

// A reload keeps the connection when the receiver's config is the same, and closes it
// when the receiver no longer has buttons.
func TestSlackButtonsFollowReloads(t *testing.T) {
	f, am := slacktest.New(t), silencestest.New(t, "")
	cfg := buttonsConfig(f.URL(), am.URL())
	e := newEnv(t, cfg, "", true)
	eventually(t, "the Socket Mode connection", f.Connected)
	if err := e.srv.Reload(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the listeners see that reload alone, not with the next
	without := strings.Replace(cfg, "app_token: "+slacktest.AppToken, "", 1)
	if err := os.WriteFile(e.cfgFile, []byte(without), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Reload(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the connection to close", func() bool { return !f.Connected() })
	if n := f.Connections(); n != 1 {
		t.Errorf("%d connections, want 1: a reload with the same config reconnected", n)
	}
}
