package router

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"

	"github.com/alertrouter/alertrouter/router/auth"
	"github.com/alertrouter/alertrouter/store"
)

// Silences, made here and kept on every Alertmanager (package silences): the API, the
// console's page and its forms.

// silenceView is a silence as the API and the console show it.
type silenceView struct {
	ID        int64      `json:"id"`
	Matchers  string     `json:"matchers"`
	StartsAt  time.Time  `json:"startsAt"`
	EndsAt    time.Time  `json:"endsAt"`
	CreatedBy string     `json:"createdBy"`
	Comment   string     `json:"comment"`
	Active    bool       `json:"active"`
	ExpiredAt *time.Time `json:"expiredAt,omitempty"`
	// Extended says an add found this silence active with the same matchers, and moved
	// its end instead of making another.
	Extended bool       `json:"extended,omitempty"`
	Copies   []copyView `json:"alertmanagers"`
}

// copyView is a silence on one Alertmanager.
type copyView struct {
	Alertmanager string `json:"alertmanager"`
	ID           string `json:"id,omitempty"`
	// Has says the Alertmanager has the silence as it is now: synced, and not failed
	// since (a failed check, or an Alertmanager out of the config, cannot tell).
	Has       bool   `json:"has"`
	Attempts  int    `json:"failedAttempts,omitempty"`
	LastError string `json:"lastError,omitempty"`
}

func (s *Server) viewOfSilence(sil store.Silence) silenceView {
	v := silenceView{ID: sil.ID, Matchers: sil.Matchers, StartsAt: sil.StartsAt.UTC(), EndsAt: sil.EndsAt.UTC(),
		CreatedBy: sil.CreatedBy, Comment: sil.Comment, Active: sil.Active(s.now()), Copies: []copyView{}}
	if !sil.ExpiredAt.IsZero() {
		t := sil.ExpiredAt.UTC()
		v.ExpiredAt = &t
	}
	for _, c := range sil.Copies {
		v.Copies = append(v.Copies, copyView{Alertmanager: c.Alertmanager, ID: c.RemoteID, Has: c.Synced && c.RemoteID != "" && c.Attempts == 0,
			Attempts: c.Attempts, LastError: c.LastError})
	}
	return v
}

// silenceList is the silences that are active or ended within the last day.
func (s *Server) silenceList(r *http.Request) ([]silenceView, error) {
	list, err := s.store.Silences(r.Context(), s.now().Add(-24*time.Hour))
	if err != nil {
		s.logger.Error("Cannot read the silences", "err", err)
		return nil, errStoreUnavailable
	}
	out := []silenceView{}
	for _, sil := range list {
		out = append(out, s.viewOfSilence(sil))
	}
	return out, nil
}

func (s *Server) handleSilences(w http.ResponseWriter, r *http.Request, _ auth.Identity) {
	list, err := s.silenceList(r)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: list})
}

// Presets are the ends people pick most.
var silencePresets = []string{"1h", "4h", "tomorrow"}

// maxSilence bounds how long a silence may last: longer is a typing slip (300000d), or a
// rule to fix rather than to silence.
const maxSilence = 366 * 24 * time.Hour

// silenceEnd is when a silence asked for by r ends: ?preset= (1h, 4h, or tomorrow: 09:00
// of the next day in global.timezone), which wins (the console's preset buttons submit
// the form with whatever its duration box holds), or else one of ?until= (RFC 3339 or a
// browser's datetime-local, in global.timezone) and ?duration= (Prometheus's: 2h, 30m,
// 1h30m, 2d, 1w). It is after now, and at most maxSilence later.
func silenceEnd(r *http.Request, now time.Time, loc *time.Location) (time.Time, error) {
	until, duration, preset := r.FormValue("until"), r.FormValue("duration"), r.FormValue("preset")
	if preset != "" {
		until, duration = "", ""
	}
	var ends time.Time
	switch {
	case until == "" && duration == "" && preset == "":
		return time.Time{}, errors.New("duration: say how long (1h, 4h, 30m, 2d), or until when, or preset=tomorrow")
	case until != "" && duration != "":
		return time.Time{}, errors.New("until, duration: give one of them")
	case until != "":
		t, err := time.Parse(time.RFC3339, until)
		if err != nil {
			if t, err = time.ParseInLocation("2006-01-02T15:04", until, loc); err != nil {
				return time.Time{}, errors.New("until: want an RFC 3339 time such as 2026-12-08T09:00:00+08:00")
			}
		}
		ends = t
	case preset == "tomorrow":
		day := now.In(loc).AddDate(0, 0, 1)
		ends = time.Date(day.Year(), day.Month(), day.Day(), 9, 0, 0, 0, loc)
	case preset != "" && !slices.Contains(silencePresets, preset):
		return time.Time{}, fmt.Errorf("preset %q: want one of %s", preset, strings.Join(silencePresets, ", "))
	default:
		d, err := model.ParseDuration(cmp.Or(duration, preset))
		if err != nil || d <= 0 {
			return time.Time{}, fmt.Errorf("duration %q: want a positive duration such as 1h, 30m or 2d", cmp.Or(duration, preset))
		}
		ends = now.Add(time.Duration(d))
	}
	switch {
	case !ends.After(now):
		return time.Time{}, errors.New("until: the silence would end before it starts")
	case ends.Sub(now) > maxSilence:
		return time.Time{}, fmt.Errorf("the silence would last more than %d days: fix the rule instead, or silence it again later", maxSilence/(24*time.Hour))
	}
	return ends, nil
}

// silenceMatchers reads r's matchers (?match=, any number, each one or more) and writes
// them canonically: sorted, as Alertmanager's parser reads them back.
func silenceMatchers(r *http.Request) (string, error) {
	ms, err := matchParams(r.Form["match"])
	if err != nil {
		return "", err
	}
	if len(ms) == 0 {
		return "", errors.New(`match: say which alerts, as label matchers such as hostgroup="gpu-render-a"`)
	}
	// Alertmanager refuses a silence that would match every alert.
	if !slices.ContainsFunc(ms, func(m *labels.Matcher) bool { return !m.Matches("") }) {
		return "", errors.New("match: at least one matcher must not match an empty label (a silence of everything)")
	}
	return canonicalMatchers(ms), nil
}

// canonicalMatchers is the one text of a set of matchers, whatever their order or
// repeats: the store finds the active silence of the same matchers by it.
func canonicalMatchers(ms labels.Matchers) string {
	ms = slices.Clone(ms)
	slices.SortFunc(ms, func(a, b *labels.Matcher) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.Type, b.Type), strings.Compare(a.Value, b.Value))
	})
	ms = slices.CompactFunc(ms, func(a, b *labels.Matcher) bool { return a.String() == b.String() })
	return ms.String()
}

// addSilence adds (or extends) the silence r asks for, as id.
func (s *Server) addSilence(r *http.Request, id auth.Identity) (silenceView, int, error) {
	if err := r.ParseForm(); err != nil {
		return silenceView{}, http.StatusBadRequest, err
	}
	ams := s.silencer.Alertmanagers()
	if len(ams) == 0 {
		return silenceView{}, http.StatusConflict, errors.New("no Alertmanager to silence on: add alertmanagers to the config")
	}
	matchers, err := silenceMatchers(r)
	if err != nil {
		return silenceView{}, http.StatusBadRequest, err
	}
	now := s.now()
	ends, err := silenceEnd(r, now, s.runtime.Load().cfg.Location())
	if err != nil {
		return silenceView{}, http.StatusBadRequest, err
	}
	author, comment, err := authorAndComment(r, id)
	if err != nil {
		return silenceView{}, http.StatusBadRequest, err
	}
	sil, extended, err := s.store.AddSilence(r.Context(), store.Silence{Matchers: matchers, StartsAt: now, EndsAt: ends,
		CreatedBy: author, Comment: comment}, ams, now)
	action := "silence.add"
	if extended {
		action = "silence.extend"
	}
	s.audit(r, id, action, fmt.Sprintf("silence %d %s until %s", sil.ID, matchers, ends.UTC().Format(time.RFC3339)), err)
	if err != nil {
		s.logger.Error("Cannot add a silence", "err", err)
		return silenceView{}, http.StatusServiceUnavailable, errStoreUnavailable
	}
	s.silencer.Wake()
	v := s.viewOfSilence(sil)
	v.Extended = extended
	return v, http.StatusOK, nil
}

// expireSilence ends the silence of r's path now.
func (s *Server) expireSilence(r *http.Request, id auth.Identity) (silenceView, int, error) {
	n, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return silenceView{}, http.StatusBadRequest, errors.New("id: want a silence id")
	}
	sil, err := s.store.ExpireSilence(r.Context(), n, s.now())
	s.audit(r, id, "silence.expire", fmt.Sprintf("silence %d", n), err)
	switch {
	case errors.Is(err, store.ErrNoSilence):
		return silenceView{}, http.StatusNotFound, fmt.Errorf("no active silence %d", n)
	case err != nil:
		s.logger.Error("Cannot expire a silence", "silence", n, "err", err)
		return silenceView{}, http.StatusServiceUnavailable, errStoreUnavailable
	}
	s.silencer.Wake()
	return s.viewOfSilence(sil), http.StatusOK, nil
}

func (s *Server) handleAddSilence(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	v, code, err := s.addSilence(r, id)
	if err != nil {
		writeError(w, code, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: v})
}

func (s *Server) handleExpireSilence(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	v, code, err := s.expireSilence(r, id)
	if err != nil {
		writeError(w, code, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: v})
}

// silencesPage is the console's silences: the list, and the form to add one.
type silencesPage struct {
	Silences      []silenceView
	Alertmanagers []string
	Presets       []string
	// Match prefills the form (an alert's page links here with its labels).
	Match string
}

func (s *Server) handleSilencesPage(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	list, err := s.silenceList(r)
	if err != nil {
		s.render(w, r, id, http.StatusServiceUnavailable, "error", "Silences", err.Error())
		return
	}
	s.render(w, r, id, http.StatusOK, "silences", "Silences", silencesPage{Silences: list, Alertmanagers: s.silencer.Alertmanagers(),
		Presets: silencePresets, Match: r.URL.Query().Get("match")})
}

// silenceForm serves the console's add and expire buttons: it acts, then goes back to the
// silences with what it did.
func (s *Server) silenceForm(act func(*http.Request, auth.Identity) (silenceView, int, error), done string) handler {
	return func(w http.ResponseWriter, r *http.Request, id auth.Identity) {
		v, code, err := act(r, id)
		if err != nil {
			s.render(w, r, id, code, "error", "Silences", err.Error())
			return
		}
		what := fmt.Sprintf(done, v.ID)
		if v.Extended {
			what = fmt.Sprintf("Silence %d extended.", v.ID)
		}
		http.Redirect(w, r, s.path("/silences")+"?done="+url.QueryEscape(what), http.StatusSeeOther)
	}
}
