package router

import (
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/router/auth"
	"github.com/alertrouter/alertrouter/router/console"
)

// loginCookie carries the login form's CSRF token until the form comes back (the
// double-submit pattern: a page of another site can make a browser post the form, not
// read the cookie).
const loginCookie = "alertrouter_login"

// render writes a console page, in the request's language; ?lang= (the switch) also
// keeps the choice in a cookie.
func (s *Server) render(w http.ResponseWriter, r *http.Request, id auth.Identity, status int, page, title string, data any) {
	lang := console.LangOf(r)
	if v := r.URL.Query().Get("lang"); v == string(lang) {
		http.SetCookie(w, &http.Cookie{Name: console.LangCookie, Value: v, Path: s.path("/"), MaxAge: 365 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secure(r)})
	}
	rt := s.runtime.Load()
	p := &console.Page{
		Title: title, Prefix: rt.cfg.Web.RoutePrefix(), Lang: lang, Location: rt.cfg.Location(),
		CanAct: id.Role.Allows(config.Operator), CSRF: id.CSRF, Data: data, Flash: r.URL.Query().Get("done"),
	}
	if id.Via != "" {
		p.User, p.Role = id.Name, string(id.Role)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := s.pages.Render(w, page, p); err != nil {
		s.logger.Error("Cannot render a console page", "page", page, "err", err)
	}
}

// secure reports whether cookies must be Secure: the request came over TLS, or people
// reach alertrouter over https (TLS ends at a proxy in front).
func (s *Server) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	u := s.runtime.Load().cfg.Web.URL()
	return u != nil && u.Scheme == "https"
}

type loginData struct {
	CSRF, Next, Error string
}

func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	if !s.runtime.Load().cfg.Web.AuthEnabled() {
		http.Redirect(w, r, s.path("/"), http.StatusSeeOther)
		return
	}
	s.loginForm(w, r, http.StatusOK, r.URL.Query().Get("next"), "")
}

// loginForm shows the login form with a fresh CSRF token, and problem if the last try had one.
func (s *Server) loginForm(w http.ResponseWriter, r *http.Request, status int, next, problem string) {
	token := auth.Random()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: token, Path: s.path("/login"), MaxAge: 3600,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secure(r)})
	s.render(w, r, auth.Identity{}, status, "login", "Log in", loginData{CSRF: token, Next: s.safeNext(next), Error: problem})
}

// safeNext is where to go after logging in: next when it is a path of ours, else the
// overview. Browsers read "//host", "/\host" and, as they drop tabs and line breaks from
// a URL, "/<TAB>/host" as another site: none is a path of ours.
func (s *Server) safeNext(next string) string {
	prefix := s.path("/")
	if strings.HasPrefix(next, prefix) && !strings.HasPrefix(next, "//") &&
		!strings.ContainsFunc(next, func(r rune) bool { return r == '\\' || unicode.IsControl(r) }) {
		return next
	}
	return prefix
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	web := &s.runtime.Load().cfg.Web
	if !web.AuthEnabled() {
		http.Redirect(w, r, s.path("/"), http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	next := r.PostFormValue("next")
	c, err := r.Cookie(loginCookie)
	if err != nil || !auth.Equal(c.Value, r.PostFormValue("csrf")) {
		s.loginForm(w, r, http.StatusForbidden, next, "The login form expired; try again.")
		return
	}
	id, err := s.auth.Login(r.Context(), web, r.PostFormValue("user"), r.PostFormValue("password"), auth.Client(r))
	switch {
	case errors.Is(err, auth.ErrRateLimited):
		w.Header().Set("Retry-After", "60")
		s.loginForm(w, r, http.StatusTooManyRequests, next, "Too many failed logins from this address; wait a minute.")
		return
	case errors.Is(err, auth.ErrBadLogin):
		s.loginForm(w, r, http.StatusUnauthorized, next, "Wrong user name or password.")
		return
	case err != nil:
		s.logger.Error("Cannot open a console session", "err", err)
		writeError(w, http.StatusServiceUnavailable, errStoreUnavailable.Error())
		return
	}
	http.SetCookie(w, &http.Cookie{Name: auth.SessionCookie, Value: id, Path: s.path("/"), MaxAge: int(web.SessionTimeout.Std() / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secure(r)})
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Path: s.path("/login"), MaxAge: -1})
	http.Redirect(w, r, s.safeNext(next), http.StatusSeeOther)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, _ auth.Identity) {
	if err := s.auth.Logout(r.Context(), r); err != nil {
		s.logger.Error("Cannot end a console session", "err", err)
	}
	http.SetCookie(w, &http.Cookie{Name: auth.SessionCookie, Path: s.path("/"), MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secure(r)})
	http.Redirect(w, r, s.path("/login"), http.StatusSeeOther)
}
