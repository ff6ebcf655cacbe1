package router

import (
	"errors"
	"net/http"
	"regexp"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/alertmanager/template"

	"github.com/alertrouter/alertrouter/dispatch"
	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/router/auth"
	"github.com/alertrouter/alertrouter/store"
)

// An alert's page: one fingerprint across receivers and episodes. Its claims say what each
// receiver last got of it; the notifications that carried it are its history.

// alertHistory is one alert: as the newest notification found carried it, the claims of
// every receiver, and a page of the notifications that carried it, newest first.
type alertHistory struct {
	Fingerprint string      `json:"fingerprint"`
	Alert       *alertView  `json:"alert,omitempty"`
	Claims      []claimView `json:"claims"`
	// Firing says some receiver's last word of it is firing: it can be acknowledged.
	Firing bool `json:"firing"`
	// SilenceMatchers select this alert alone, for the silence form.
	SilenceMatchers string `json:"-"`
	listing
}

// claimView is what a receiver last got of an alert: its status, the episode (when it
// started), when, and in which notification.
type claimView struct {
	Receiver     string    `json:"receiver"`
	Status       string    `json:"status"`
	EpisodeStart time.Time `json:"episodeStartsAt"`
	NotifiedAt   time.Time `json:"notifiedAt"`
	Notification int64     `json:"notification,omitempty"`
	// Ack is the acknowledgement of the episode, if any.
	Ack *store.Ack `json:"ack,omitempty"`
}

// fingerprintPattern is an alert fingerprint: Alertmanager's are 16 hex digits.
var fingerprintPattern = regexp.MustCompile(`^[0-9a-f]{1,64}$`)

// alertIn is the alert of msg with fingerprint fp.
func alertIn(msg *receivers.Message, fp string) (template.Alert, bool) {
	for _, a := range msg.Data.Alerts {
		if a.Fingerprint == fp {
			return a, true
		}
	}
	return template.Alert{}, false
}

// checkFingerprint refuses what is not an alert's fingerprint.
func checkFingerprint(fp string) error {
	if !fingerprintPattern.MatchString(fp) {
		return errors.New("fingerprint: want the alert's fingerprint, hex digits")
	}
	return nil
}

func (s *Server) alertHistory(r *http.Request) (alertHistory, int, error) {
	fp := r.PathValue("fingerprint")
	if err := checkFingerprint(fp); err != nil {
		return alertHistory{}, http.StatusBadRequest, err
	}
	h := alertHistory{Fingerprint: fp, Claims: []claimView{}}
	claims, err := s.store.AlertClaims(r.Context(), fp)
	if err != nil {
		s.logger.Error("Cannot read an alert's claims", "fingerprint", fp, "err", err)
		return h, http.StatusServiceUnavailable, errStoreUnavailable
	}
	for _, c := range claims {
		h.Claims = append(h.Claims, claimView{Receiver: c.Receiver, Status: c.Status, EpisodeStart: c.StartsAt.UTC(),
			NotifiedAt: c.NotifiedAt.UTC(), Notification: c.NotificationID, Ack: c.Ack})
		h.Firing = h.Firing || c.Status == "firing"
	}
	var code int
	if h.listing, code = s.search(r, func(f *filter) { f.fingerprint = fp }); code != http.StatusOK {
		return h, code, errors.New(h.Error)
	}
	if len(h.Notifications) > 0 {
		n, ok, err := s.store.Notification(r.Context(), h.Notifications[0].ID)
		if err != nil {
			return h, http.StatusServiceUnavailable, errStoreUnavailable
		}
		if msg, err := dispatch.Decode(&n); ok && err == nil {
			if a, found := alertIn(msg, fp); found {
				v := viewOfAlert(a)
				h.Alert = &v
				h.SilenceMatchers = exactMatchers(a.Labels)
			}
		}
	}
	if len(h.Claims) == 0 && len(h.Notifications) == 0 && r.URL.Query().Get("before") == "" {
		return h, http.StatusNotFound, errors.New("no alert with fingerprint " + fp + " (or none within global.retention)")
	}
	return h, http.StatusOK, nil
}

func (s *Server) handleAlert(w http.ResponseWriter, r *http.Request, _ auth.Identity) {
	h, code, err := s.alertHistory(r)
	if err != nil {
		writeError(w, code, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: h, Next: h.Before})
}

func (s *Server) handleAlertPage(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	h, code, err := s.alertHistory(r)
	if err != nil {
		s.render(w, r, id, code, "error", "Alert", err.Error())
		return
	}
	h.Next = h.Filter.next(s.path("/alerts/"+h.Fingerprint), h.Before)
	s.render(w, r, id, http.StatusOK, "alert", "Alert", h)
}

// viewOfAlert is a as the API and the console show it.
func viewOfAlert(a template.Alert) alertView {
	return alertView{Status: a.Status, Labels: a.Labels, Annotations: a.Annotations,
		StartsAt: a.StartsAt, EndsAt: a.EndsAt, GeneratorURL: a.GeneratorURL, Fingerprint: a.Fingerprint}
}

// exactMatchers are the matchers, in their canonical text, that select the alert with
// these labels: one equality each.
func exactMatchers(ls template.KV) string {
	var ms labels.Matchers
	for name, value := range ls {
		ms = append(ms, &labels.Matcher{Type: labels.MatchEqual, Name: name, Value: value})
	}
	return canonicalMatchers(ms)
}
