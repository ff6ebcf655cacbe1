// Package receivers defines what the dispatcher delivers to and the helpers its
// integrations share: error classification, HTTP posting, secrets and their redaction.
// Each integration lives in a sub-package (log, webhook, ...).
package receivers

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"
)

// Message is one notification to deliver: alerts of one host group with one status,
// routed to one receiver.
type Message struct {
	// ID is the notification's id in the outbox, stable across retries and restarts.
	ID        int64
	Receiver  string
	Route     string
	Hostgroup string
	// Data is what Alertmanager templates see; Data.Receiver is the receiver's name.
	Data *template.Data
}

// Receiver delivers messages to one destination.
//
// Send returns nil once the destination has accepted the message. Errors are retried
// unless wrapped with Permanent; an error wrapped with Throttled asks the dispatcher to
// wait before the next attempt without counting it as a failure; one wrapped with Partial
// means delivered, with a problem to report. Errors must not contain secrets.
type Receiver interface {
	Send(ctx context.Context, m *Message) error
}

// LabelSet converts template labels to a model.LabelSet, for fingerprints and printing.
func LabelSet(kv template.KV) model.LabelSet {
	ls := make(model.LabelSet, len(kv))
	for k, v := range kv {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls
}

// RateLimited is implemented by receivers whose destination limits how fast we may send;
// the dispatcher waits for a token before each attempt.
type RateLimited interface {
	RateLimit() (perSecond float64, burst int)
}

// Config is one integration's configuration, as decoded from a receiver's YAML. Validate
// checks it and fills in defaults; a problem with one field is a *FieldError, so that the
// config package can name the field and its line. Errors never quote a secret.
type Config interface {
	Validate() error
}

// SecretFiler is a Config that reads secrets from files at send time; `config check` tries
// to read each of them. The map is keyed by YAML field; empty paths are not set.
type SecretFiler interface {
	SecretFiles() map[string]string
}

// Previewer is a Receiver that shows a message as it would send it (the request's body,
// or the text people read), without sending it and without its secrets: the console shows
// a notification's message, and previews a receiver's templates.
type Previewer interface {
	Preview(m *Message) (string, error)
}

// ActionLinked is a Receiver whose messages carry, for each firing alert, the signed
// links to act on it (acknowledge, silence): as links (the chat robots, email) or as
// buttons whose values they are (Slack with an app token). ActionLinks reports whether
// this receiver's messages do, and whether as buttons. If so, the dispatcher puts them in
// each firing alert's annotations (LinkAnnotations) before Send: links when the console
// has an external URL to make them of (the default templates show them), buttons always
// (a button's value is the link's last path element, its token; the path may be relative).
type ActionLinked interface {
	ActionLinks() (show, asButtons bool)
}

// Press is a button pressed in a message: the signed link it carries (its last path
// element), and who pressed it, as the platform names them.
type Press struct {
	Token string
	User  string
}

// Act does what a pressed button says. It returns what was done, which the message
// then shows in place of the button, or why not, which only whoever pressed it sees.
type Act func(ctx context.Context, p Press) (done string, err error)

// ButtonListener is a Config whose messages may carry buttons, whose presses come back
// over a connection the receiver opens (Slack's Socket Mode): no way in is needed.
type ButtonListener interface {
	// HasButtons reports whether this config's messages carry buttons.
	HasButtons() bool
	// Listen takes presses and hands them to act until ctx is done. It reconnects by
	// itself, and returns only when ctx is done or the platform refuses the
	// credentials (the caller retries later: a token file may be fixed).
	Listen(ctx context.Context, logger *slog.Logger, act Act) error
}

// LinkAnnotations are the annotations that hold an alert's action links, in the order
// messages show them.
var LinkAnnotations = []string{"alertrouter_ack_url", "alertrouter_silence_1h_url", "alertrouter_silence_4h_url"}

// TemplateChecker is a Config with template strings; config loading renders them against
// sample notifications, so that a broken template rejects the config instead of a page.
type TemplateChecker interface {
	CheckTemplates(*Templates) error
}

// Env is what building a receiver may need besides its own config.
type Env struct {
	Templates *Templates
	// Location is global.timezone, for receivers that format times themselves.
	Location *time.Location
	// Stdout is where the log receiver writes.
	Stdout io.Writer
}

// Data is the template data of a notification, as Alertmanager templates see it.
type Data = template.Data
