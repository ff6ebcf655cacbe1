package slack

import (
	"path"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"github.com/alertrouter/alertrouter/receivers"
)

// Buttons: with an app token, a message's attachment is made of blocks, its text and, for
// each firing alert, a row of buttons (acknowledge, silence 1h, silence 4h) whose values
// are the alert's signed action links. The router takes the presses over Socket Mode.

// ActionIDs are the buttons' action ids, in the order of receivers.LinkAnnotations.
var ActionIDs = []string{"alertrouter_ack", "alertrouter_silence_1h", "alertrouter_silence_4h"}

var buttonTexts = []string{"Acknowledge", "Silence 1h", "Silence 4h"}

// BlockIDPrefix starts the block id of an alert's buttons; the fingerprint follows.
const BlockIDPrefix = "alertrouter:"

const (
	// maxSectionText is Slack's limit on a section's text.
	maxSectionText = 3000
	// maxButtonRows bounds the rows of buttons of one message (Slack takes 50 blocks).
	maxButtonRows = 10
)

// withButtons makes att blocks: its title and text, then each firing alert's buttons.
func withButtons(att *slack.Attachment, m *receivers.Message) {
	blocks := []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*"+att.Title+"*\n"+att.Text, false, false), nil, nil)}
	rows := 0
	for _, a := range m.Data.Alerts {
		if rows == maxButtonRows {
			break
		}
		var buttons []slack.BlockElement
		for i, name := range receivers.LinkAnnotations {
			link := a.Annotations[name]
			if link == "" {
				continue
			}
			b := slack.NewButtonBlockElement(ActionIDs[i], path.Base(link), slack.NewTextBlockObject(slack.PlainTextType, buttonTexts[i], false, false))
			if i == 0 {
				b.Style = slack.StylePrimary
			}
			buttons = append(buttons, b)
		}
		if len(buttons) == 0 {
			continue
		}
		if len(m.Data.Alerts) > 1 {
			what := a.Labels["alertname"]
			if instance := a.Labels["instance"]; instance != "" {
				what += " on " + instance
			}
			blocks = append(blocks, slack.NewContextBlock("", slack.NewTextBlockObject(slack.PlainTextType, what, false, false)))
		}
		blocks = append(blocks, slack.NewActionBlock(BlockIDPrefix+a.Fingerprint, buttons...))
		rows++
	}
	att.Blocks = slack.Blocks{BlockSet: blocks}
	// With blocks, Slack shows them instead of the text fields; the fallback stays.
	att.Title, att.Text, att.MarkdownIn = "", "", nil
}

// Done shows in atts what a press of actionID in blockID did: a line saying what, above
// the alert's buttons, from which the pressed one goes (all of them after a silence:
// nothing is left to do). It reports whether it found the buttons.
func Done(atts []slack.Attachment, blockID, actionID, what string) bool {
	for i := range atts {
		blocks := atts[i].Blocks.BlockSet
		for j, b := range blocks {
			row, ok := b.(*slack.ActionBlock)
			if !ok || row.BlockID != blockID {
				continue
			}
			line := slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, what, false, false))
			row.Elements.ElementSet = slices.DeleteFunc(row.Elements.ElementSet, func(e slack.BlockElement) bool {
				button, ok := e.(*slack.ButtonBlockElement)
				return ok && (button.ActionID == actionID || actionID != ActionIDs[0])
			})
			if len(row.Elements.ElementSet) == 0 {
				blocks[j] = line
			} else {
				blocks = slices.Insert(blocks, j, slack.Block(line))
			}
			atts[i].Blocks.BlockSet = blocks
			return true
		}
	}
	return false
}

// IsOurs reports whether an action id is one of the buttons'.
func IsOurs(actionID string) bool { return strings.HasPrefix(actionID, "alertrouter_") }
