package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/dispatch"
	"github.com/alertrouter/alertrouter/router/auth"
	"github.com/alertrouter/alertrouter/store"
	"github.com/alertrouter/alertrouter/watchdog"
)

// The console's pages of the watchdog, the routing, the receivers and the audit log, and
// their API.

// watchdogPage is the watchdog's state, and where its events are.
type watchdogPage struct {
	Status     watchdog.Status
	Configured bool
	Events     string // the notifications listing of its events
}

func (s *Server) handleWatchdogPage(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	st, err := s.watchdog.Status(r.Context())
	p := watchdogPage{Status: st, Configured: !errors.Is(err, watchdog.ErrNotConfigured),
		Events: s.path("/notifications?route=" + url.QueryEscape(watchdog.Route))}
	if err != nil && p.Configured {
		s.logger.Error("Cannot read the watchdog state", "err", err)
		s.render(w, r, id, http.StatusServiceUnavailable, "error", "Watchdog", errStoreUnavailable.Error())
		return
	}
	s.render(w, r, id, http.StatusOK, "watchdog", "Watchdog", p)
}

// routeTest is the route tester's answer for some labels: the same as `route test`.
type routeTest struct {
	Labels      map[string]string `json:"labels"`
	Heartbeat   bool              `json:"heartbeat"`
	Routes      []string          `json:"routes"`
	Receivers   []Target          `json:"receivers"`
	Explanation []string          `json:"explanation"`
}

// testRoute reads labels (label=name=value, any number, or one per line in labels=) and
// routes them.
func (s *Server) testRoute(r *http.Request) (*routeTest, error) {
	pairs := r.URL.Query()["label"]
	for _, line := range strings.FieldsFunc(r.URL.Query().Get("labels"), func(c rune) bool { return c == '\n' || c == ',' }) {
		if line = strings.TrimSpace(line); line != "" {
			pairs = append(pairs, line)
		}
	}
	if len(pairs) == 0 {
		return nil, nil
	}
	ls, err := config.ParseLabels(pairs)
	if err != nil {
		return nil, err
	}
	d := s.runtime.Load().routes.Route(ls)
	out := &routeTest{Labels: map[string]string{}, Heartbeat: d.Heartbeat, Routes: d.Matched, Receivers: d.Targets, Explanation: d.Explain(ls)}
	for k, v := range ls {
		out.Labels[string(k)] = string(v)
	}
	if out.Routes == nil {
		out.Routes = []string{}
	}
	if out.Receivers == nil {
		out.Receivers = []Target{}
	}
	return out, nil
}

func (s *Server) handleRouteTest(w http.ResponseWriter, r *http.Request, _ auth.Identity) {
	rt, err := s.testRoute(r)
	switch {
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
	case rt == nil:
		writeError(w, http.StatusBadRequest, "label: give the alert's labels, as label=name=value")
	default:
		writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: rt})
	}
}

// effectiveConfig is the running config as YAML, secrets shown as <secret>.
func (s *Server) effectiveConfig() (string, error) {
	b, err := yaml.Marshal(s.runtime.Load().cfg)
	return string(b), err
}

func (s *Server) handleConfig(w http.ResponseWriter, r *http.Request, _ auth.Identity) {
	text, err := s.effectiveConfig()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: map[string]string{"yaml": text}})
}

type routingPage struct {
	Config string
	Labels string
	Test   *routeTest
	Error  string
}

func (s *Server) handleRoutingPage(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	p := routingPage{Labels: r.URL.Query().Get("labels")}
	var err error
	if p.Config, err = s.effectiveConfig(); err != nil {
		p.Error = err.Error()
	}
	code := http.StatusOK
	if p.Test, err = s.testRoute(r); err != nil {
		p.Error, code = err.Error(), http.StatusBadRequest
	}
	s.render(w, r, id, code, "routing", "Routing", p)
}

// receiverView is a receiver, what came of its recent notifications, and whether it waits.
type receiverView struct {
	Name        string     `json:"name"`
	Integration string     `json:"integration"`
	Sent        int        `json:"sentLastDay"`
	Dead        int        `json:"deadLastDay"`
	Pending     int        `json:"pending"`
	PausedUntil *time.Time `json:"pausedUntil,omitempty"`
	LastError   string     `json:"lastError,omitempty"`
	LastErrorAt *time.Time `json:"lastErrorAt,omitempty"`
}

func (s *Server) receiverViews(ctx context.Context) ([]receiverView, error) {
	cfg := s.runtime.Load().cfg
	byName := map[string]*receiverView{}
	var out []receiverView
	for _, rc := range cfg.Receivers {
		out = append(out, receiverView{Name: rc.Name, Integration: rc.Integration.Key})
	}
	for i := range out {
		byName[out[i].Name] = &out[i]
	}
	now := s.now()
	activity, err := s.store.Activity(ctx, now, 24)
	if err != nil {
		return nil, err
	}
	for _, c := range activity {
		if v := byName[c.Receiver]; v != nil {
			switch c.State {
			case store.Sent:
				v.Sent += c.N
			case store.Dead:
				v.Dead += c.N
			}
		}
	}
	backlogs, err := s.store.Backlogs(ctx)
	if err != nil {
		return nil, err
	}
	for _, b := range backlogs {
		if v := byName[b.Receiver]; v != nil {
			v.Pending += b.Pending
		}
	}
	for name, until := range s.dispatcher.Paused() {
		if v := byName[name]; v != nil {
			u := until.UTC()
			v.PausedUntil = &u
		}
	}
	errs, err := s.store.LastErrors(ctx, now.Add(-24*time.Hour))
	if err != nil {
		return nil, err
	}
	for _, e := range errs {
		if v := byName[e.Receiver]; v != nil {
			at := e.At.UTC()
			v.LastError, v.LastErrorAt = e.Error, &at
		}
	}
	return out, nil
}

func (s *Server) handleReceivers(w http.ResponseWriter, r *http.Request, _ auth.Identity) {
	views, err := s.receiverViews(r.Context())
	if err != nil {
		s.logger.Error("Cannot read the receivers' outcomes", "err", err)
		writeError(w, http.StatusServiceUnavailable, errStoreUnavailable.Error())
		return
	}
	writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: views})
}

type receiversPage struct {
	Receivers []receiverView
	// The template preview: a receiver and a stored notification, and what it renders.
	Preview                           *preview
	PreviewReceiver, PreviewID, Error string
}

type preview struct {
	Receiver     string `json:"receiver"`
	Notification int64  `json:"notification"`
	Rendered     string `json:"rendered"`
}

// previewOf renders notification id (a stored one: ?notification=) with receiver's
// templates, as it would be sent to it now.
func (s *Server) previewOf(ctx context.Context, receiver, id string) (*preview, int, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil, http.StatusBadRequest, errors.New("notification: want a notification id")
	}
	stored, ok, err := s.store.Notification(ctx, n)
	if err != nil {
		return nil, http.StatusServiceUnavailable, errStoreUnavailable
	}
	if !ok {
		return nil, http.StatusNotFound, fmt.Errorf("no notification %d", n)
	}
	stored.Receiver = receiver // as this receiver would get it
	msg, err := dispatch.Decode(&stored)
	if err != nil {
		return nil, http.StatusUnprocessableEntity, err
	}
	text, err := s.dispatcher.Preview(receiver, msg)
	if err != nil {
		return nil, http.StatusUnprocessableEntity, err
	}
	return &preview{Receiver: receiver, Notification: n, Rendered: text}, http.StatusOK, nil
}

func (s *Server) handlePreview(w http.ResponseWriter, r *http.Request, _ auth.Identity) {
	p, code, err := s.previewOf(r.Context(), r.PathValue("name"), r.URL.Query().Get("notification"))
	if err != nil {
		writeError(w, code, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: p})
}

func (s *Server) handleReceiversPage(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	views, err := s.receiverViews(r.Context())
	if err != nil {
		s.logger.Error("Cannot read the receivers' outcomes", "err", err)
		s.render(w, r, id, http.StatusServiceUnavailable, "error", "Receivers", errStoreUnavailable.Error())
		return
	}
	q := r.URL.Query()
	p := receiversPage{Receivers: views, PreviewReceiver: q.Get("receiver"), PreviewID: q.Get("notification")}
	code := http.StatusOK
	if p.PreviewReceiver != "" && p.PreviewID != "" {
		if p.Preview, code, err = s.previewOf(r.Context(), p.PreviewReceiver, p.PreviewID); err != nil {
			p.Error = err.Error()
		}
	}
	s.render(w, r, id, code, "receivers", "Receivers", p)
}

// sendTest sends a sample notification to receiver (?status=firing or resolved), as
// `alertrouter send-test` does, and records it in the audit log.
func (s *Server) sendTest(r *http.Request, id auth.Identity) (string, error) {
	receiver := r.PathValue("name")
	status := r.FormValue("status")
	if status == "" {
		status = "firing"
	}
	err := dispatch.SendTest(r.Context(), s.runtime.Load().cfg, receiver, status, io.Discard)
	s.audit(r, id, "receiver.send-test", receiver+" ("+status+")", err)
	return receiver, err
}

func (s *Server) handleSendTest(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	receiver, err := s.sendTest(r, id)
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: map[string]string{"receiver": receiver}})
}

func (s *Server) handleSendTestForm(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	receiver, err := s.sendTest(r, id)
	done := receiver + " accepted a test notification."
	if err != nil {
		done = receiver + ": " + err.Error()
	}
	http.Redirect(w, r, s.path("/receivers")+"?done="+url.QueryEscape(done), http.StatusSeeOther)
}

// auditView is an audit log entry as the API and the console show it.
type auditView struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Role   string    `json:"role"`
	Source string    `json:"source"`
	Action string    `json:"action"`
	Target string    `json:"target"`
	Result string    `json:"result"`
}

// auditPage is a page of the audit log, newest first, and where the next one starts
// (?before=Next; 0 at the end).
type auditPage struct {
	Entries []auditView
	Limit   int
	Next    int64
}

// readAudit reads the page of the audit log that r asks for (?limit=, ?before=ID).
func (s *Server) readAudit(r *http.Request) (auditPage, int, error) {
	limit, before, err := pageParams(r)
	if err != nil {
		return auditPage{}, http.StatusBadRequest, err
	}
	log, err := s.store.AuditLog(r.Context(), before, limit)
	if err != nil {
		s.logger.Error("Cannot read the audit log", "err", err)
		return auditPage{}, http.StatusServiceUnavailable, errStoreUnavailable
	}
	p := auditPage{Entries: make([]auditView, 0, len(log)), Limit: limit}
	for _, a := range log {
		p.Entries = append(p.Entries, auditView{ID: a.ID, At: a.At.UTC(), Actor: a.Actor, Role: a.Role,
			Source: a.Source, Action: a.Action, Target: a.Target, Result: a.Result})
	}
	if len(log) == limit {
		p.Next = log[len(log)-1].ID
	}
	return p, http.StatusOK, nil
}

// handleAudit lists the audit log, newest first; ?before=ID pages back.
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	p, code, err := s.readAudit(r)
	if err != nil {
		writeError(w, code, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: p.Entries, Next: p.Next})
}

func (s *Server) handleAuditPage(w http.ResponseWriter, r *http.Request, id auth.Identity) {
	p, code, err := s.readAudit(r)
	if err != nil {
		s.render(w, r, id, code, "error", "Audit log", err.Error())
		return
	}
	s.render(w, r, id, http.StatusOK, "audit", "Audit log", p)
}
