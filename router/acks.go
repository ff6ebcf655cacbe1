package router

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/alertrouter/alertrouter/dispatch"
	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/router/auth"
	"github.com/alertrouter/alertrouter/store"
)

// Acknowledgements: "I have it". An alert's firing episode, once acknowledged, is not
// repeated at any receiver until it resolves or a new episode starts; the resolution says
// who had it (router/dedupe.go, store.Acknowledge).

// ackView is an acknowledgement made, as the API answers it.
type ackView struct {
	Fingerprint string    `json:"fingerprint"`
	AlertName   string    `json:"alertname,omitempty"`
	StartsAt    time.Time `json:"startsAt"`
	store.Ack
	// Earlier says the episode was acknowledged before, by Ack.Author: that one is kept.
	Earlier bool `json:"earlier,omitempty"`
}

// ackFirst is how many firing alerts an acknowledgement by matchers looks through.
const ackFirst = 10000

// ackOf is the acknowledgement that id makes with r, through source: its author is the
// person logged in; a program (an API token, or everyone when there are no logins) may
// name the person it acts for (?author=, as `alertrouter ack --author` does).
func ackOf(r *http.Request, id auth.Identity, source string, now time.Time) (store.Ack, error) {
	author, comment, err := authorAndComment(r, id)
	return store.Ack{Author: author, At: now, Comment: comment, Source: source}, err
}

// authorAndComment are who r acts for and why: the person logged in, or the one a
// program (an API token, or everyone when there are no logins) names (?author=); and
// ?comment=.
func authorAndComment(r *http.Request, id auth.Identity) (author, comment string, err error) {
	author, comment = id.Name, strings.TrimSpace(r.FormValue("comment"))
	if a := strings.TrimSpace(r.FormValue("author")); a != "" && (id.Via == "token" || id.Via == "open") {
		author = a
	}
	if len(comment) > 1000 || len(author) > 200 {
		return "", "", errors.New("comment or author: too long")
	}
	return author, comment, nil
}

// acknowledge acknowledges the alerts r names, through source (console, api, cli): the
// path's fingerprint, or every firing alert its label matchers (?match=, any number)
// select.
func (s *Server) acknowledge(r *http.Request, id auth.Identity, source string) ([]ackView, int, error) {
	if err := r.ParseForm(); err != nil {
		return nil, http.StatusBadRequest, err
	}
	a, err := ackOf(r, id, source, s.now())
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	var targets []ackView
	if fp := r.PathValue("fingerprint"); fp != "" {
		if err := checkFingerprint(fp); err != nil {
			return nil, http.StatusBadRequest, err
		}
		targets = append(targets, ackView{Fingerprint: fp})
	} else {
		matchers, err := matchParams(r.Form["match"])
		if err != nil {
			return nil, http.StatusBadRequest, err
		}
		if len(matchers) == 0 {
			return nil, http.StatusBadRequest, errors.New("match: name the alerts, as label matchers such as alertname=\"GPUDown\"")
		}
		if targets, err = s.firingMatching(r, matchers); err != nil {
			return nil, http.StatusServiceUnavailable, errStoreUnavailable
		}
	}
	out := []ackView{}
	for _, t := range targets {
		startsAt, kept, first, err := s.store.Acknowledge(r.Context(), t.Fingerprint, time.Time{}, a)
		s.audit(r, id, "alert.acknowledge", t.Fingerprint+" ("+a.Source+")", err)
		switch {
		case errors.Is(err, store.ErrNotFiring) && r.PathValue("fingerprint") != "":
			return nil, http.StatusNotFound, fmt.Errorf("alert %s is not firing (or not within global.retention)", t.Fingerprint)
		case errors.Is(err, store.ErrNotFiring):
			continue // resolved since
		case err != nil:
			s.logger.Error("Cannot acknowledge an alert", "fingerprint", t.Fingerprint, "err", err)
			return out, http.StatusServiceUnavailable, errStoreUnavailable
		}
		t.StartsAt, t.Ack, t.Earlier = startsAt.UTC(), kept, !first
		t.Ack.At = t.Ack.At.UTC()
		out = append(out, t)
	}
	return out, http.StatusOK, nil
}

// firingMatching are the firing alerts whose labels matchers select, as the notification
// that last carried each shows them.
func (s *Server) firingMatching(r *http.Request, matchers labels.Matchers) ([]ackView, error) {
	firing, err := s.store.Firing(r.Context(), ackFirst)
	if err != nil {
		return nil, err
	}
	var out []ackView
	// The alerts of one webhook share their notification: read and decode it once.
	msgs := map[int64]*receivers.Message{} // nil: gone, or unreadable
	for _, f := range firing {
		msg, seen := msgs[f.NotificationID]
		if !seen {
			n, ok, err := s.store.Notification(r.Context(), f.NotificationID)
			if err != nil {
				return nil, err
			}
			if ok {
				if msg, err = dispatch.Decode(&n); err != nil {
					msg = nil
				}
			}
			msgs[f.NotificationID] = msg
		}
		if msg == nil {
			continue
		}
		if a, found := alertIn(msg, f.Fingerprint); found && matchers.Matches(receivers.LabelSet(a.Labels)) {
			out = append(out, ackView{Fingerprint: f.Fingerprint, AlertName: a.Labels["alertname"]})
		}
	}
	return out, nil
}

func (s *Server) handleAck(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	source := "api"
	if r.FormValue("source") == "cli" {
		source = "cli"
	}
	acks, code, err := s.acknowledge(r, id, source)
	if err != nil {
		writeError(w, code, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: acks})
}

// handleAckForm serves the console's Acknowledge button, on an alert's page.
func (s *Server) handleAckForm(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	acks, code, err := s.acknowledge(r, id, "console")
	if err != nil {
		s.render(w, r, id, code, "error", "Alert", err.Error())
		return
	}
	done := "Acknowledged."
	if len(acks) == 1 && acks[0].Earlier {
		done = "Already acknowledged by " + acks[0].Author + "."
	}
	http.Redirect(w, r, s.path("/alerts/"+r.PathValue("fingerprint"))+"?done="+url.QueryEscape(done), http.StatusSeeOther)
}
