package router

import (
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/alertrouter/alertrouter/store"
)

func TestDecide(t *testing.T) {
	now := testStart
	ep1, ep2 := now.Add(-time.Hour), now.Add(-time.Minute)
	year9999 := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	p := policy{repeatInterval: 4 * time.Hour, sendResolved: true}
	claim := func(status string, startsAt, notified time.Time) *store.Claim {
		return &store.Claim{Status: status, StartsAt: startsAt, NotifiedAt: notified}
	}
	tests := []struct {
		name       string
		prev       *store.Claim
		status     string
		startsAt   time.Time
		policy     policy
		send       bool
		reason     string
		claimState string // "" when no claim is written
	}{
		{"new firing", nil, "firing", ep1, p, true, "", "firing"},
		{"firing within repeat", claim("firing", ep1, now.Add(-time.Hour)), "firing", ep1, p, false, suppressDuplicate, ""},
		{"firing at repeat", claim("firing", ep1, now.Add(-4*time.Hour)), "firing", ep1, p, true, "", "firing"},
		{"new episode whose resolve we missed", claim("firing", ep1, ep1.Add(time.Second)), "firing", ep2, p, true, "", "firing"},
		{"firing after resolve, new episode", claim("resolved", ep1, now), "firing", ep2, p, true, "", "firing"},
		{"firing after resolve, same episode", claim("resolved", ep1, now), "firing", ep1, p, false, suppressStale, ""},
		{"resolved without firing", nil, "resolved", ep1, p, false, suppressWithoutFiring, ""},
		{"resolved after firing", claim("firing", ep1, now), "resolved", ep1, p, true, "", "resolved"},
		{"resolved twice", claim("resolved", ep1, now), "resolved", ep1, p, false, suppressDuplicate, ""},
		{"resolved of an older episode", claim("firing", ep2, now), "resolved", ep1, p, false, suppressStale, ""},
		{"a copy whose startsAt is ahead of our clock", claim("firing", now.Add(5*time.Second), now), "firing", now.Add(5 * time.Second), p, false, suppressDuplicate, ""},
		{"a third copy, later, of that episode", claim("firing", now.Add(5*time.Second), now.Add(-6*time.Second)), "firing", now.Add(5 * time.Second), p, false, suppressDuplicate, ""},
		{"a copy from the year 9999", claim("firing", year9999, now), "firing", year9999, p, false, suppressDuplicate, ""},
		{"a new episode that started before we sent the last", claim("firing", ep1, now.Add(-time.Minute)), "firing", ep1.Add(time.Second), p, true, "", "firing"},
		{"an older episode's late copy", claim("firing", ep2, now.Add(-time.Minute)), "firing", ep1, p, false, suppressDuplicate, ""},
		{"resolved, send_resolved off", claim("firing", ep1, now), "resolved", ep1, policy{repeatInterval: time.Hour}, false, suppressResolvedDisable, "resolved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &template.Alert{Status: tt.status, StartsAt: tt.startsAt, Fingerprint: "fp"}
			v := decide(tt.prev, a, "r", now, tt.policy)
			if v.send != tt.send || v.reason != tt.reason {
				t.Fatalf("decide = send %v reason %q, want send %v reason %q", v.send, v.reason, tt.send, tt.reason)
			}
			switch {
			case tt.claimState == "" && v.claim != nil:
				t.Fatalf("wrote claim %+v, want none", v.claim)
			case tt.claimState != "" && (v.claim == nil || v.claim.Status != tt.claimState || !v.claim.NotifiedAt.Equal(now) || v.claim.Receiver != "r"):
				t.Fatalf("claim = %+v, want status %s", v.claim, tt.claimState)
			}
		})
	}
}
