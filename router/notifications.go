package router

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/alertmanager/template"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/dispatch"
	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/router/auth"
	"github.com/alertrouter/alertrouter/store"
)

// The console's notification listings and dead letters, as pages and in the API, with one
// set of filters (parseFilter) and one view of a notification (viewOf).

// filter is a listing's query string, parsed: the store's Query, with label matchers.
type filter struct {
	store.Query
	Matchers labels.Matchers
	// fingerprint keeps the notifications that carry this alert.
	fingerprint string
	// raw is the query string, to carry the filters into the next page's link.
	raw url.Values
}

// Raw is a filter's value as the query string had it, for the form to show.
func (f filter) Raw() map[string]string {
	out := map[string]string{}
	for k, v := range f.raw {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out
}

// Encoded is the filters as a query string, without the page.
func (f filter) Encoded() string {
	q := url.Values{}
	for k, v := range f.raw {
		if k != "before" && k != "lang" && k != "done" {
			q[k] = v
		}
	}
	return q.Encode()
}

// parseFilter reads a listing's filters: receiver, route, hostgroup, alertname, status
// (pending, sent, dead), match (label matchers, any number), fingerprint (an alert's),
// since and until (RFC 3339), before (an id, to page) and limit.
func parseFilter(r *http.Request) (filter, error) {
	q := r.URL.Query()
	f := filter{raw: q}
	limit, before, err := pageParams(r)
	if err != nil {
		return f, err
	}
	f.Limit, f.Before = limit, before
	f.Receiver, f.Route, f.Hostgroup, f.AlertName = q.Get("receiver"), q.Get("route"), q.Get("hostgroup"), q.Get("alertname")
	if v := q.Get("status"); v != "" {
		if f.State, err = store.ParseState(v); err != nil {
			return f, fmt.Errorf("status: %w", err)
		}
	}
	for _, p := range []struct {
		name string
		to   *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.name); v != "" {
			t, err := parseTimeParam(v)
			if err != nil {
				return f, fmt.Errorf("%s: %w", p.name, err)
			}
			*p.to = t
		}
	}
	ms, err := matchParams(q["match"])
	if err != nil {
		return f, err
	}
	f.Matchers = ms
	f.fingerprint = q.Get("fingerprint")
	f.Keep = f.keep()
	return f, nil
}

// keep is the store's Keep for what SQL cannot see, the alerts' labels and fingerprints
// (in the batch); nil when the filter asks for neither.
func (f *filter) keep() func(*store.Notification) (bool, error) {
	if len(f.Matchers) == 0 && f.fingerprint == "" {
		return nil
	}
	return func(n *store.Notification) (bool, error) {
		m, err := dispatch.Decode(n)
		if err != nil {
			return false, nil // a damaged batch matches nothing; its page says why
		}
		for _, a := range m.Data.Alerts {
			if (f.fingerprint == "" || a.Fingerprint == f.fingerprint) && f.Matchers.Matches(receivers.LabelSet(a.Labels)) {
				return true, nil
			}
		}
		return false, nil
	}
}

// nameAckers says, on the steps of d's timeline where copies were dropped because their
// episode was acknowledged, who acknowledged it: the acknowledgement on the claim of
// n's receiver for an alert of msg.
func (s *Server) nameAckers(r *http.Request, d *detail, n *store.Notification, msg *receivers.Message) error {
	var acked []*suppressionView
	for _, step := range d.Timeline {
		if step.Suppressed != nil && step.Suppressed.Reason == suppressAcknowledged {
			acked = append(acked, step.Suppressed)
		}
	}
	if len(acked) == 0 {
		return nil
	}
	for _, a := range msg.Data.Alerts {
		claims, err := s.store.AlertClaims(r.Context(), a.Fingerprint)
		if err != nil {
			return err
		}
		for _, c := range claims {
			if c.Receiver == n.Receiver && c.Ack != nil {
				for _, v := range acked {
					v.AckedBy = dispatch.AckText(*c.Ack)
				}
				return nil
			}
		}
	}
	return nil
}

// matchParams reads the label matchers of ?match= (any number, each one or more).
func matchParams(vs []string) (labels.Matchers, error) {
	var out labels.Matchers
	for _, v := range vs {
		if strings.TrimSpace(v) == "" {
			continue
		}
		ms, err := config.ParseMatchers(v)
		if err != nil {
			return nil, fmt.Errorf("match %q: %w", v, err)
		}
		out = append(out, ms...)
	}
	return out, nil
}

// parseTimeParam reads RFC 3339, or the date and minute a browser's datetime-local field sends.
func parseTimeParam(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("want an RFC 3339 time such as 2026-12-07T08:00:00Z")
}

// next is the link to the listing's next page, or "" at its end.
func (f filter) next(path string, before int64) string {
	if before == 0 {
		return ""
	}
	q, _ := url.ParseQuery(f.Encoded())
	q.Set("before", strconv.FormatInt(before, 10))
	return path + "?" + q.Encode()
}

// notificationView is one notification as the API and the console show it. Status is the
// delivery status (pending, sent, dead); AlertStatus is firing or resolved.
type notificationView struct {
	ID            int64      `json:"id"`
	Receiver      string     `json:"receiver"`
	Route         string     `json:"route"`
	Hostgroup     string     `json:"hostgroup"`
	AlertStatus   string     `json:"alertStatus"`
	AlertNames    []string   `json:"alertNames"`
	Alerts        int        `json:"alerts"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"lastError,omitempty"`
	CreatedAt     time.Time  `json:"createdAt"`
	UpdatedAt     time.Time  `json:"updatedAt"`
	NextAttemptAt *time.Time `json:"nextAttemptAt,omitempty"`
	SentAt        *time.Time `json:"sentAt,omitempty"`
	// FoldedInto is the notification whose digest message carried this one.
	FoldedInto int64 `json:"foldedInto,omitempty"`
	// RetriedAs is the notification a retry from the console made of this dead one.
	RetriedAs   int64      `json:"retriedAs,omitempty"`
	DiscardedAt *time.Time `json:"discardedAt,omitempty"`
}

func viewOf(n *store.Notification) notificationView {
	v := notificationView{
		ID: n.ID, Receiver: n.Receiver, Route: n.Route, Hostgroup: n.Hostgroup, AlertStatus: n.Status,
		AlertNames: n.AlertNames, Alerts: n.AlertCount, Status: string(n.State), Attempts: n.Attempts,
		LastError: n.LastError, CreatedAt: n.CreatedAt.UTC(), UpdatedAt: n.UpdatedAt.UTC(), FoldedInto: n.FoldedInto,
		RetriedAs: n.RetriedAs,
	}
	if v.AlertNames == nil {
		v.AlertNames = []string{}
	}
	if n.State == store.Pending {
		t := n.NextAttemptAt.UTC()
		v.NextAttemptAt = &t
	}
	if !n.SentAt.IsZero() {
		t := n.SentAt.UTC()
		v.SentAt = &t
	}
	if !n.DiscardedAt.IsZero() {
		t := n.DiscardedAt.UTC()
		v.DiscardedAt = &t
	}
	return v
}

// listing is a page of notifications.
type listing struct {
	Notifications []notificationView `json:"notifications"`
	// Next is the link to the next page ("" at the end); the API's next is the id to pass
	// as before.
	Next   string `json:"-"`
	Before int64  `json:"next,omitempty"`
	Filter filter `json:"-"`
	Error  string `json:"-"`
	// Selectable shows a checkbox on each row (the dead letters, for operators).
	Selectable bool `json:"-"`
}

// search lists the notifications that r's filters select, and scope, if set, narrows.
func (s *Server) search(r *http.Request, scope func(*filter)) (listing, int) {
	f, err := parseFilter(r)
	if err != nil {
		return listing{Error: err.Error(), Notifications: []notificationView{}}, http.StatusBadRequest
	}
	if scope != nil {
		scope(&f)
		f.Keep = f.keep()
	}
	list, before, err := s.store.Search(r.Context(), f.Query)
	if err != nil {
		s.logger.Error("Cannot list notifications", "err", err)
		return listing{Error: errStoreUnavailable.Error(), Notifications: []notificationView{}}, http.StatusServiceUnavailable
	}
	out := listing{Notifications: make([]notificationView, 0, len(list)), Before: before, Filter: f}
	for i := range list {
		out.Notifications = append(out.Notifications, viewOf(&list[i]))
	}
	return out, http.StatusOK
}

func deadLettersOnly(f *filter) { f.DeadLetters = true }

// listNotifications is the API's listing of the notifications scope narrows (all when
// nil), newest first, with parseFilter's filters.
func (s *Server) listNotifications(scope func(*filter)) handler {
	return func(w http.ResponseWriter, r *http.Request, _ auth.Identity) {
		l, code := s.search(r, scope)
		if code != http.StatusOK {
			writeError(w, code, l.Error)
			return
		}
		writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: l.Notifications, Next: l.Before})
	}
}

func (s *Server) handleNotificationsPage(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	l, code := s.search(r, nil)
	l.Next = l.Filter.next(s.path("/notifications"), l.Before)
	s.render(w, r, id, code, "notifications", "Notifications", l)
}

func (s *Server) handleDeadLettersPage(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	l, code := s.search(r, deadLettersOnly)
	l.Next = l.Filter.next(s.path("/dead"), l.Before)
	l.Selectable = id.Role.Allows(config.Operator)
	s.render(w, r, id, code, "dead", "Dead letters", l)
}

// alertView is an alert of a notification, as the API and the console show it.
type alertView struct {
	Status       string      `json:"status"`
	Labels       template.KV `json:"labels"`
	Annotations  template.KV `json:"annotations"`
	StartsAt     time.Time   `json:"startsAt"`
	EndsAt       time.Time   `json:"endsAt,omitzero"`
	GeneratorURL string      `json:"generatorURL"`
	Fingerprint  string      `json:"fingerprint"`
}

// attemptView is a step of a notification's timeline: accepted, an attempt (its outcome,
// duration and error), sent, discarded; or copies of its alerts that dedupe suppressed
// (outcome "suppressed": from which Alertmanager, why, how many, until when).
type attemptView struct {
	At       time.Time `json:"at"`
	Outcome  string    `json:"outcome"`
	Duration string    `json:"duration,omitempty"`
	Error    string    `json:"error,omitempty"`
	// Suppressed is set on a step of suppressed copies.
	Suppressed *suppressionView `json:"suppressed,omitempty"`
}

type suppressionView struct {
	Source string `json:"source"`
	Reason string `json:"reason"`
	// AckedBy says who acknowledged the episode, for the reason "acknowledged".
	AckedBy string    `json:"ackedBy,omitempty"`
	Copies  int       `json:"copies"`
	Alerts  int       `json:"alerts"`
	LastAt  time.Time `json:"lastAt"`
}

// detail is one notification: what it carried, from which Alertmanager, and what
// happened to it.
type detail struct {
	notificationView
	ExternalURL string        `json:"externalURL"`
	AlertList   []alertView   `json:"alertList"`
	Timeline    []attemptView `json:"timeline"`
	// Rendered is the message as the receiver's templates make it now; RenderError says
	// why not.
	Rendered    string `json:"rendered,omitempty"`
	RenderError string `json:"renderError,omitempty"`
	// DeadLetter says whether it can be retried or discarded.
	DeadLetter bool `json:"deadLetter"`
}

// notificationDetail reads notification id and builds its detail.
func (s *Server) notificationDetail(r *http.Request) (detail, int, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return detail{}, http.StatusBadRequest, errors.New("id: want a notification id")
	}
	n, ok, err := s.store.Notification(r.Context(), id)
	if err != nil {
		s.logger.Error("Cannot read a notification", "id", id, "err", err)
		return detail{}, http.StatusServiceUnavailable, errStoreUnavailable
	}
	if !ok {
		return detail{}, http.StatusNotFound, fmt.Errorf("no notification %d", id)
	}
	attempts, err := s.store.Attempts(r.Context(), id)
	if err != nil {
		s.logger.Error("Cannot read a notification's attempts", "id", id, "err", err)
		return detail{}, http.StatusServiceUnavailable, errStoreUnavailable
	}
	suppressed, err := s.store.Suppressions(r.Context(), id)
	if err != nil {
		s.logger.Error("Cannot read a notification's suppressed copies", "id", id, "err", err)
		return detail{}, http.StatusServiceUnavailable, errStoreUnavailable
	}
	d := detail{notificationView: viewOf(&n), AlertList: []alertView{},
		DeadLetter: n.State == store.Dead && n.RetriedAs == 0 && n.DiscardedAt.IsZero()}
	d.Timeline = append(d.Timeline, attemptView{At: n.CreatedAt.UTC(), Outcome: "accepted"})
	for _, a := range attempts {
		d.Timeline = append(d.Timeline, attemptView{At: a.At.UTC(), Outcome: a.Outcome, Duration: a.Duration.String(), Error: a.Error})
	}
	if !n.SentAt.IsZero() {
		step := attemptView{At: n.SentAt.UTC(), Outcome: "sent", Duration: n.SentDuration.String(), Error: n.LastError}
		if n.FoldedInto != 0 {
			step.Outcome = "folded" // sent in the digest of n.FoldedInto
		}
		d.Timeline = append(d.Timeline, step)
	}
	if !n.DiscardedAt.IsZero() {
		d.Timeline = append(d.Timeline, attemptView{At: n.DiscardedAt.UTC(), Outcome: "discarded"})
	}
	for _, c := range suppressed {
		d.Timeline = append(d.Timeline, attemptView{At: c.FirstAt.UTC(), Outcome: "suppressed", Suppressed: &suppressionView{
			Source: c.Source, Reason: c.Reason, Copies: c.Copies, Alerts: c.Alerts, LastAt: c.LastAt.UTC()}})
	}
	slices.SortStableFunc(d.Timeline, func(a, b attemptView) int { return a.At.Compare(b.At) })
	msg, err := dispatch.Decode(&n)
	if err != nil {
		d.RenderError = err.Error()
		return d, http.StatusOK, nil
	}
	d.ExternalURL = msg.Data.ExternalURL
	for _, a := range msg.Data.Alerts {
		d.AlertList = append(d.AlertList, viewOfAlert(a))
	}
	if err := s.nameAckers(r, &d, &n, msg); err != nil {
		s.logger.Error("Cannot read a notification's acknowledgements", "id", id, "err", err)
		return detail{}, http.StatusServiceUnavailable, errStoreUnavailable
	}
	d.Rendered, err = s.dispatcher.Preview(n.Receiver, msg)
	if err != nil {
		d.RenderError = err.Error()
	}
	return d, http.StatusOK, nil
}

func (s *Server) handleNotification(w http.ResponseWriter, r *http.Request, _ auth.Identity) {
	d, code, err := s.notificationDetail(r)
	if err != nil {
		writeError(w, code, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: d})
}

func (s *Server) handleNotificationPage(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	d, code, err := s.notificationDetail(r)
	if err != nil {
		s.render(w, r, id, code, "error", "Notification", err.Error())
		return
	}
	s.render(w, r, id, code, "notification", "Notification", d)
}

// maxBulk bounds how many dead letters one retry or discard by filter acts on.
const maxBulk = 1000

// deadLetterAction is what a retry or a discard did.
type deadLetterAction struct {
	Done   []int64  `json:"done"`
	New    []int64  `json:"new,omitempty"` // the retries' new notifications, in order
	Failed []string `json:"failed,omitempty"`
}

// actOnDeadLetters retries or discards dead letters: those named by ids (form or query:
// id=1&id=2), or else every one the request's filters select, up to maxBulk. Each is
// recorded in the audit log.
func (s *Server) actOnDeadLetters(r *http.Request, id auth.Identity, retry bool) (deadLetterAction, int, error) {
	var ids []int64
	if err := r.ParseForm(); err != nil {
		return deadLetterAction{}, http.StatusBadRequest, err
	}
	if v := r.PathValue("id"); v != "" {
		r.Form["id"] = []string{v}
	}
	for _, v := range r.Form["id"] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return deadLetterAction{}, http.StatusBadRequest, fmt.Errorf("id %q: want a notification id", v)
		}
		ids = append(ids, n)
	}
	if len(ids) == 0 {
		f, err := parseFilter(r)
		if err != nil {
			return deadLetterAction{}, http.StatusBadRequest, err
		}
		f.DeadLetters, f.Limit = true, maxBulk
		for before := int64(0); len(ids) < maxBulk; {
			f.Before = before
			page, next, err := s.store.Search(r.Context(), f.Query)
			if err != nil {
				return deadLetterAction{}, http.StatusServiceUnavailable, errStoreUnavailable
			}
			for _, n := range page {
				ids = append(ids, n.ID)
			}
			if next == 0 {
				break
			}
			before = next
		}
		ids = ids[:min(len(ids), maxBulk)]
	}
	action := "notification.discard"
	if retry {
		action = "notification.retry"
	}
	out := deadLetterAction{Done: []int64{}}
	var woken []string
	for _, n := range ids {
		var err error
		target := fmt.Sprintf("notification %d", n)
		if retry {
			var newID int64
			var receiver string
			newID, receiver, err = s.store.RetryDead(r.Context(), n, s.now())
			if err == nil {
				out.New = append(out.New, newID)
				woken = append(woken, receiver)
				target += fmt.Sprintf(" (as %d)", newID)
			}
		} else {
			err = s.store.DiscardDead(r.Context(), n, s.now())
		}
		s.audit(r, id, action, target, err)
		switch {
		case errors.Is(err, store.ErrNotDeadLetter):
			out.Failed = append(out.Failed, err.Error())
		case err != nil:
			// What was done before stays done, and is in the audit log.
			s.logger.Error("Cannot act on a dead letter", "action", action, "id", n, "err", err)
			s.dispatcher.Notify(woken)
			return out, http.StatusServiceUnavailable, errStoreUnavailable
		default:
			out.Done = append(out.Done, n)
		}
	}
	s.dispatcher.Notify(woken)
	return out, http.StatusOK, nil
}

func (s *Server) handleRetry(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	s.deadLetterAPI(w, r, id, true)
}

func (s *Server) handleDiscard(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	s.deadLetterAPI(w, r, id, false)
}

func (s *Server) deadLetterAPI(w http.ResponseWriter, r *http.Request, id auth.Identity, retry bool) {
	out, code, err := s.actOnDeadLetters(r, id, retry)
	if err != nil {
		writeError(w, code, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: out})
}

// deadLetterForm serves the console's retry and discard buttons: it acts, then goes back
// to the dead letters with what it did.
func (s *Server) deadLetterForm(retry bool) handler {
	return func(w http.ResponseWriter, r *http.Request, id auth.Identity) {
		out, code, err := s.actOnDeadLetters(r, id, retry)
		if err != nil {
			s.render(w, r, id, code, "error", "Dead letters", err.Error())
			return
		}
		verb := "Discarded"
		if retry {
			verb = "Retried"
		}
		done := fmt.Sprintf("%s %d.", verb, len(out.Done))
		if len(out.Failed) > 0 {
			done += " " + strings.Join(out.Failed, "; ")
		}
		back := s.path("/dead")
		if len(out.New) == 1 {
			back = s.path(fmt.Sprintf("/notifications/%d", out.New[0]))
		}
		http.Redirect(w, r, back+"?done="+url.QueryEscape(done), http.StatusSeeOther)
	}
}
