package router

import (
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"github.com/alertrouter/alertrouter/store"
)

// Why an alert was not sent to a receiver.
const (
	suppressDuplicate       = "duplicate"               // firing, already sent within repeat_interval, or resolved twice
	suppressWithoutFiring   = "resolved_without_firing" // its firing was never sent here
	suppressStale           = "stale"                   // a late copy of an episode already settled
	suppressResolvedDisable = "send_resolved_disabled"
	suppressAcknowledged    = "acknowledged" // its episode is acknowledged: no repeats
)

// policy holds the settings the dedupe decision depends on.
type policy struct {
	repeatInterval time.Duration
	sendResolved   bool
}

// verdict is the dedupe decision for one alert at one receiver.
type verdict struct {
	send bool
	// claim is the new dedupe state to store, nil when it stays as it was.
	claim *store.Claim
	// reason says why the alert is not sent; empty when it is.
	reason string
	// ack is the acknowledgement of the episode a resolution ends: the message names it.
	ack *store.Ack
}

// decide applies ARCHITECTURE.md, invariant 3, to one alert, given the receiver's current claim
// for it (nil when there is none):
//   - a firing alert is sent when new, when its previous episode was resolved, when it
//     started later than the episode on record (a new episode whose resolution we never
//     saw), or once repeat_interval has passed since it was last sent. Episodes are told
//     apart by startsAt alone, never by our clock: copies of one episode carry the same
//     startsAt, even from a Prometheus whose clock runs ahead of ours;
//   - an acknowledged episode is not repeated (an acknowledgement covers the episode it
//     was made for: a later one pages);
//   - a resolved alert is sent once, and only if its firing was sent; it carries the
//     acknowledgement of the episode it ends;
//   - copies that arrive late from a second Alertmanager (an episode older than the
//     one on record) are dropped.
func decide(prev *store.Claim, a *template.Alert, receiver string, now time.Time, p policy) verdict {
	claim := func(status string, startsAt time.Time) *store.Claim {
		return &store.Claim{Receiver: receiver, Fingerprint: a.Fingerprint, Status: status, StartsAt: startsAt, NotifiedAt: now}
	}
	// The episode as the store can hold it: a startsAt from the year 9999 is as far as a
	// claim goes, and every copy of it compares equal.
	startsAt := store.ClaimTime(a.StartsAt)
	firing := a.Status == string(model.AlertFiring)
	switch {
	case firing && prev == nil:
		return verdict{send: true, claim: claim(a.Status, startsAt)}
	case firing && prev.Status == string(model.AlertResolved):
		if !startsAt.After(prev.StartsAt) {
			return verdict{reason: suppressStale}
		}
		return verdict{send: true, claim: claim(a.Status, startsAt)}
	case firing:
		// The same episode (a copy from the other Alertmanager of a pair, a repeat), or a
		// late copy of an older one.
		if !startsAt.After(prev.StartsAt) {
			if now.Sub(prev.NotifiedAt) < p.repeatInterval {
				return verdict{reason: suppressDuplicate}
			}
			if prev.Ack != nil {
				return verdict{reason: suppressAcknowledged}
			}
		}
		return verdict{send: true, claim: claim(a.Status, laterOf(startsAt, prev.StartsAt))}
	case prev == nil:
		return verdict{reason: suppressWithoutFiring}
	case prev.Status == string(model.AlertResolved):
		return verdict{reason: suppressDuplicate}
	case startsAt.Before(prev.StartsAt):
		return verdict{reason: suppressStale}
	case !p.sendResolved:
		// Record the resolution, so that the next firing counts as a new episode.
		return verdict{reason: suppressResolvedDisable, claim: claim(a.Status, prev.StartsAt)}
	default:
		return verdict{send: true, claim: claim(a.Status, prev.StartsAt), ack: prev.Ack}
	}
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
