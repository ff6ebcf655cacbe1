package router

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/router/auth"
	"github.com/alertrouter/alertrouter/router/console"
	"github.com/alertrouter/alertrouter/store"
)

// access is what a route asks of whoever calls it.
type access int

const (
	// public: the health checks and the login page.
	public access = iota
	// webhookAuth: /webhook, which checks Alertmanager's credentials itself (webhook:).
	webhookAuth
	// metricsAccess: a viewer's, or nobody's when web.metrics_public is set.
	metricsAccess
	// signedLink: a message's action link, which its handler checks, with whoever is
	// logged in, if anyone (web.signed_links_act_without_login).
	signedLink
	viewer
	operator
	admin
)

func (a access) role() config.Role {
	switch a {
	case operator:
		return config.Operator
	case admin:
		return config.Admin
	}
	return config.Viewer
}

// handler serves a request of someone identified (auth.Open when there are no logins).
type handler func(http.ResponseWriter, *http.Request, auth.Identity)

// route is one endpoint: its net/http pattern (with a method where it takes only one),
// what it asks of the caller, and its handler.
type route struct {
	pattern string
	access  access
	handle  handler
	// page is set for the console's HTML pages: without a login they send the browser
	// to the login page rather than answer 401.
	page bool
}

// routes are every endpoint alertrouter serves: Handler registers each behind guard,
// and a test walks them, so that a new endpoint cannot forget authentication.
func (s *Server) routes() []route {
	plain := func(h http.HandlerFunc) handler {
		return func(w http.ResponseWriter, r *http.Request, _ auth.Identity) { h(w, r) }
	}
	return []route{
		{pattern: "/webhook", access: webhookAuth, handle: plain(s.handleWebhook)},
		{pattern: "/-/healthy", access: public, handle: plain(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("Healthy.\n"))
		})},
		{pattern: "/-/ready", access: public, handle: plain(s.handleReady)},
		{pattern: "/-/reload", access: admin, handle: s.handleReload},
		{pattern: "/metrics", access: metricsAccess, handle: plain(promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{}).ServeHTTP)},
		{pattern: "GET /api/v1/notifications", access: viewer, handle: s.listNotifications(nil)},
		{pattern: "GET /api/v1/notifications/{id}", access: viewer, handle: s.handleNotification},
		{pattern: "POST /api/v1/notifications/{id}/retry", access: operator, handle: s.handleRetry},
		{pattern: "POST /api/v1/notifications/{id}/discard", access: operator, handle: s.handleDiscard},
		{pattern: "GET /api/v1/dead", access: viewer, handle: s.listNotifications(deadLettersOnly)},
		{pattern: "POST /api/v1/dead/retry", access: operator, handle: s.handleRetry},
		{pattern: "POST /api/v1/dead/discard", access: operator, handle: s.handleDiscard},
		{pattern: "GET /api/v1/watchdog", access: viewer, handle: plain(s.handleWatchdog)},
		{pattern: "GET /api/v1/audit", access: viewer, handle: plain(s.handleAudit)},
		{pattern: "GET /api/v1/alerts/{fingerprint}", access: viewer, handle: s.handleAlert},
		{pattern: "POST /api/v1/alerts/{fingerprint}/ack", access: operator, handle: s.handleAck},
		{pattern: "POST /api/v1/acks", access: operator, handle: s.handleAck},
		{pattern: "GET /api/v1/silences", access: viewer, handle: s.handleSilences},
		{pattern: "POST /api/v1/silences", access: operator, handle: s.handleAddSilence},
		{pattern: "POST /api/v1/silences/{id}/expire", access: operator, handle: s.handleExpireSilence},
		{pattern: "GET /api/v1/overview", access: viewer, handle: s.handleOverviewAPI},
		{pattern: "GET /api/v1/config", access: viewer, handle: s.handleConfig},
		{pattern: "GET /api/v1/route", access: viewer, handle: s.handleRouteTest},
		{pattern: "GET /api/v1/receivers", access: viewer, handle: s.handleReceivers},
		{pattern: "GET /api/v1/receivers/{name}/preview", access: viewer, handle: s.handlePreview},
		{pattern: "POST /api/v1/receivers/{name}/test", access: operator, handle: s.handleSendTest},
		{pattern: "GET /login", access: public, handle: plain(s.handleLoginPage), page: true},
		{pattern: "POST /login", access: public, handle: plain(s.handleLogin), page: true},
		{pattern: "POST /logout", access: viewer, handle: s.handleLogout, page: true},
		{pattern: "GET /static/", access: public, handle: plain(http.StripPrefix("/static", console.Static()).ServeHTTP)},
		{pattern: "GET /{$}", access: viewer, handle: s.handleOverview, page: true},
		{pattern: "GET /notifications", access: viewer, handle: s.handleNotificationsPage, page: true},
		{pattern: "GET /notifications/{id}", access: viewer, handle: s.handleNotificationPage, page: true},
		{pattern: "GET /dead", access: viewer, handle: s.handleDeadLettersPage, page: true},
		{pattern: "POST /dead/retry", access: operator, handle: s.deadLetterForm(true), page: true},
		{pattern: "POST /dead/discard", access: operator, handle: s.deadLetterForm(false), page: true},
		{pattern: "GET /alerts/{fingerprint}", access: viewer, handle: s.handleAlertPage, page: true},
		{pattern: "POST /alerts/{fingerprint}/ack", access: operator, handle: s.handleAckForm, page: true},
		{pattern: "GET /act/{token}", access: signedLink, handle: s.handleActLink, page: true},
		{pattern: "POST /act/{token}", access: signedLink, handle: s.handleActLink, page: true},
		{pattern: "GET /silences", access: viewer, handle: s.handleSilencesPage, page: true},
		{pattern: "POST /silences", access: operator, handle: s.silenceForm(s.addSilence, "Silence %d added."), page: true},
		{pattern: "POST /silences/{id}/expire", access: operator, handle: s.silenceForm(s.expireSilence, "Silence %d expired."), page: true},
		{pattern: "GET /watchdog", access: viewer, handle: s.handleWatchdogPage, page: true},
		{pattern: "GET /routing", access: viewer, handle: s.handleRoutingPage, page: true},
		{pattern: "GET /receivers", access: viewer, handle: s.handleReceiversPage, page: true},
		{pattern: "POST /receivers/{name}/test", access: operator, handle: s.handleSendTestForm, page: true},
		{pattern: "GET /audit", access: viewer, handle: s.handleAuditPage, page: true},
	}
}

// Handler serves every route, behind its guard, under web.external_url's path.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.HandleFunc(rt.pattern, s.guard(rt))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		prefix := s.runtime.Load().cfg.Web.RoutePrefix()
		if prefix == "" {
			mux.ServeHTTP(w, r)
			return
		}
		// As Prometheus under --web.external-url: everything lives below the prefix.
		if r.URL.Path == prefix {
			http.Redirect(w, r, prefix+"/", http.StatusFound)
			return
		}
		http.StripPrefix(prefix, mux).ServeHTTP(w, r)
	})
}

// forgedRequest answers a request that changes something and may have been made by
// another site's page (auth.Identity.CheckCSRF).
const forgedRequest = "missing or wrong CSRF token, or sent from another site: reload the page and try again"

// guard lets a request through to rt when its caller may call it: identified (unless rt
// is public or has its own credentials), in a role that rt allows, and, for a request of
// a console session that changes something, with the session's CSRF token.
func (s *Server) guard(rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		web := &s.runtime.Load().cfg.Web
		if rt.access == public || rt.access == webhookAuth ||
			(rt.access == metricsAccess && (web.MetricsPublic || !web.AuthEnabled())) {
			rt.handle(w, r, auth.Open)
			return
		}
		id, ok, err := s.auth.Identify(r, web)
		if rt.access == signedLink && err == nil {
			if ok && changes(r) && !id.CheckCSRF(r) {
				writeError(w, http.StatusForbidden, forgedRequest)
				return
			}
			if err := checkForm(r); err != nil {
				writeError(w, http.StatusBadRequest, err.Error())
				return
			}
			rt.handle(w, r, id) // the zero identity when nobody is logged in
			return
		}
		switch {
		case errors.Is(err, auth.ErrRateLimited):
			w.Header().Set("Retry-After", "60")
			writeError(w, http.StatusTooManyRequests, err.Error())
			return
		case err != nil:
			s.logger.Error("Cannot check credentials", "err", err)
			writeError(w, http.StatusServiceUnavailable, "credentials cannot be checked now")
			return
		case !ok && rt.page:
			s.toLogin(w, r)
			return
		case !ok:
			w.Header().Add("WWW-Authenticate", `Bearer realm="alertrouter"`)
			w.Header().Add("WWW-Authenticate", `Basic realm="alertrouter"`)
			writeError(w, http.StatusUnauthorized, "log in, or send a token (Authorization: Bearer) or a user's password (basic auth)")
			return
		case !id.Role.Allows(rt.access.role()):
			writeError(w, http.StatusForbidden, string(id.Role)+" "+id.Name+" may not do this: it needs the "+string(rt.access.role())+" role")
			return
		case changes(r) && !id.CheckCSRF(r):
			writeError(w, http.StatusForbidden, forgedRequest)
			return
		}
		if err := checkForm(r); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		rt.handle(w, r, id)
	}
}

// checkForm parses r's query and form, and refuses a value that holds NUL: nothing we
// take means one, and PostgreSQL's text cannot hold it (a comment with one was refused by
// the database, as if it were down).
func checkForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("malformed form: %w", err)
	}
	for k, vs := range r.Form {
		for _, v := range vs {
			if strings.ContainsRune(k+v, 0) {
				return fmt.Errorf("%s: holds a NUL character", strconv.Quote(k))
			}
		}
	}
	return nil
}

// changes reports whether r may change something: anything but GET, HEAD and OPTIONS.
func changes(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// path is p below web.external_url's path.
func (s *Server) path(p string) string {
	return s.runtime.Load().cfg.Web.RoutePrefix() + p
}

// audit records an action in the audit log; what went wrong recording it is logged, not
// returned: the action itself happened.
func (s *Server) audit(r *http.Request, id auth.Identity, action, target string, err error) {
	s.auditFrom(r.Context(), auth.Client(r), id, action, target, err)
}

// auditFrom is audit for an action that came from source rather than an HTTP client.
func (s *Server) auditFrom(ctx context.Context, source string, id auth.Identity, action, target string, err error) {
	result := "ok"
	if err != nil {
		result = err.Error()
	}
	a := store.Audit{At: s.now(), Actor: id.Name, Role: string(id.Role), Source: source, Action: action, Target: target, Result: result}
	if err := s.store.RecordAudit(ctx, a); err != nil {
		s.logger.Error("Cannot record an action in the audit log", "action", action, "actor", id.Name, "err", err)
	}
}

// toLogin sends a browser to the login page, to come back to r's page after.
func (s *Server) toLogin(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, s.path("/login")+"?next="+url.QueryEscape(s.path(r.URL.RequestURI())), http.StatusSeeOther)
}

// pageParams reads ?limit= (defaultListLimit, at most maxListLimit) and ?before= (an id,
// for keyset paging; 0 for the first page).
func pageParams(r *http.Request) (limit int, before int64, err error) {
	limit = defaultListLimit
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit {
			return 0, 0, fmt.Errorf("limit: want a number from 1 to %d", maxListLimit)
		}
		limit = n
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return 0, 0, errors.New("before: want the id of an entry")
		}
		before = n
	}
	return limit, before, nil
}
