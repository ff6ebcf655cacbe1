package router

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/alertrouter/alertrouter/config"
)

// Passwords of the test users, and their hashes (bcrypt's lowest cost: tests hash fast).
var testPasswords = map[string]string{"vera": "vera-pw", "otto": "otto-pw", "ada": "ada-pw"}

func testHash(t *testing.T, name string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(testPasswords[name]), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// authConfig has a user of each role and a token of each role; extra is appended to its
// web section.
func authConfig(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("file-token-of-otto-bot\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return logConfig + `
web:
  users:
    - {name: vera, password_hash: '` + testHash(t, "vera") + `', role: viewer}
    - {name: otto, password_hash: '` + testHash(t, "otto") + `', role: operator}
    - {name: ada, password_hash: '` + testHash(t, "ada") + `', role: admin}
  api_tokens:
    - {name: grafana, token: 'viewer-token-1234', role: viewer}
    - {name: otto-bot, token_file: '` + tokenFile + `', role: operator}
    - {name: ci, token: 'admin-token-5678', role: admin}
` + extra
}

// request is one request of a route: its method and a path that its pattern matches.
func requestOf(rt route) (method, path string) {
	method, path = http.MethodGet, rt.pattern
	if m, p, ok := strings.Cut(rt.pattern, " "); ok {
		method, path = m, p
	} else if rt.access >= operator {
		method = http.MethodPost
	}
	path = regexp.MustCompile(`\{[^}]*\}`).ReplaceAllStringFunc(path, func(w string) string {
		if w == "{$}" {
			return ""
		}
		return "1"
	})
	return method, path
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func (e *env) call(method, path string, header http.Header) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.http.URL+path, strings.NewReader(""))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	c := &http.Client{CheckRedirect: noRedirects}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// Every route the router serves is guarded: a new endpoint cannot forget it. Without
// credentials an API answers 401 and a page sends to the login form; with credentials, a
// role below the route's gets 403 and the others get through.
func TestEveryRouteIsGuarded(t *testing.T) {
	e := newEnv(t, authConfig(t, ""), "", false)
	tokens := map[config.Role]string{config.Viewer: "viewer-token-1234", config.Operator: "file-token-of-otto-bot", config.Admin: "admin-token-5678"}
	users := map[config.Role]string{config.Viewer: "vera", config.Operator: "otto", config.Admin: "ada"}
	for _, rt := range e.srv.routes() {
		method, path := requestOf(rt)
		t.Run(method+" "+path, func(t *testing.T) {
			anon := e.call(method, path, nil)
			switch rt.access {
			case public:
				if anon.StatusCode == http.StatusUnauthorized || strings.Contains(anon.Header.Get("Location"), "/login?next=") {
					t.Fatalf("public route asked for a login: %d", anon.StatusCode)
				}
				return
			case webhookAuth:
				return // its own credentials: TestWebhookAuth
			case signedLink:
				return // the link is the credential: TestActionLinks
			}
			if rt.page {
				if anon.StatusCode != http.StatusSeeOther || !strings.HasPrefix(anon.Header.Get("Location"), "/login?next=") {
					t.Fatalf("without a login: %d to %q, want 303 to the login form", anon.StatusCode, anon.Header.Get("Location"))
				}
			} else if anon.StatusCode != http.StatusUnauthorized || anon.Header.Get("WWW-Authenticate") == "" {
				t.Fatalf("without credentials: %d, want 401 with WWW-Authenticate", anon.StatusCode)
			}
			if got := e.call(method, path, http.Header{"Authorization": {"Bearer wrong-token"}}); got.StatusCode != http.StatusUnauthorized && !rt.page {
				t.Fatalf("with a wrong token: %d, want 401", got.StatusCode)
			}
			for _, role := range []config.Role{config.Viewer, config.Operator, config.Admin} {
				for via, h := range map[string]http.Header{
					"token": {"Authorization": {"Bearer " + tokens[role]}},
					"basic": {"Authorization": {basicAuth(users[role], testPasswords[users[role]])}},
				} {
					got := e.call(method, path, h).StatusCode
					if allowed := role.Allows(rt.access.role()); allowed == (got == http.StatusForbidden) || got == http.StatusUnauthorized {
						t.Errorf("%s %s: %d (allowed: %v)", role, via, got, allowed)
					}
				}
			}
		})
	}
}

func basicAuth(user, password string) string {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(user, password)
	return r.Header.Get("Authorization")
}

// browser is a client with cookies that does not follow redirects.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: noRedirects}}
}

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) post(path string, form url.Values, header http.Header) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login logs b in as user with password, and returns the session's CSRF token, as its
// pages carry it.
func (b *browser) login(user, password string) (*http.Response, string) {
	b.t.Helper()
	_, form := b.get("/login?next=%2Fnotifications")
	m := csrfField.FindStringSubmatch(form)
	if m == nil {
		b.t.Fatalf("no CSRF token in the login form:\n%s", form)
	}
	resp, body := b.post("/login", url.Values{"csrf": {m[1]}, "user": {user}, "password": {password}, "next": {"/notifications"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		return resp, body
	}
	_, page := b.get("/")
	if m = csrfField.FindStringSubmatch(page); m == nil {
		b.t.Fatalf("no CSRF token in a page after logging in:\n%s", page)
	}
	return resp, m[1]
}

// After logging in the browser goes to next only when it is a path of ours: browsers read
// "//host", "/\\host" and "/<TAB>/host" (they drop tabs and line breaks) as another site.
func TestLoginGoesOnlyToOurPaths(t *testing.T) {
	e := newEnv(t, authConfig(t, ""), "", false)
	b := newBrowser(t, e.http.URL)
	for next, want := range map[string]string{
		"/notifications?state=dead": "/notifications?state=dead",
		"//evil.example/":           "/",
		"/\\evil.example/":          "/",
		"/\t/evil.example/":         "/",
		"/\n/evil.example/":         "/",
		"https://evil.example/":     "/",
	} {
		_, form := b.get("/login?next=" + url.QueryEscape(next))
		m := csrfField.FindStringSubmatch(form)
		if m == nil {
			t.Fatalf("no CSRF token in the login form:\n%s", form)
		}
		resp, _ := b.post("/login", url.Values{"csrf": {m[1]}, "user": {"vera"}, "password": {"vera-pw"}, "next": {next}}, nil)
		if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || got != want {
			t.Errorf("login with next=%q: %d to %q, want %q", next, resp.StatusCode, got, want)
		}
	}
}

func TestLoginSessionCSRFAndLogout(t *testing.T) {
	e := newEnv(t, authConfig(t, ""), "", false)
	b := newBrowser(t, e.http.URL)

	if resp, body := b.login("ada", "not-her-password"); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong user name or password.") || strings.Contains(body, "not-her-password") {
		t.Fatalf("wrong password: %d\n%s", resp.StatusCode, body)
	}
	resp, csrf := b.login("ada", "ada-pw")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/notifications" {
		t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookie := resp.Header.Get("Set-Cookie")
	for _, attr := range []string{"alertrouter_session=", "HttpOnly", "SameSite=Lax", "Max-Age=43200"} {
		if !strings.Contains(cookie, attr) {
			t.Errorf("session cookie %q lacks %s", cookie, attr)
		}
	}
	if strings.Contains(cookie, "Secure") {
		t.Errorf("session cookie is Secure over plain HTTP: %q", cookie)
	}
	if resp, _ := b.get("/api/v1/audit"); resp.StatusCode != http.StatusOK {
		t.Fatalf("API with the session: %d", resp.StatusCode)
	}
	// A form posted from elsewhere carries the cookie, not the token.
	if resp, body := b.post("/-/reload", nil, nil); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "CSRF") {
		t.Fatalf("reload without the CSRF token: %d %s", resp.StatusCode, body)
	}
	if resp, body := b.post("/-/reload", url.Values{"csrf": {csrf}}, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("reload with the CSRF token: %d %s", resp.StatusCode, body)
	}
	if resp, body := b.get("/api/v1/audit"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"actor":"ada","role":"admin"`) || !strings.Contains(body, `"action":"config.reload"`) {
		t.Fatalf("the reload is not in the audit log: %s", body)
	}
	if resp, _ := b.post("/logout", url.Values{"csrf": {csrf}}, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("logout: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := b.get("/api/v1/audit"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("API after logout: %d", resp.StatusCode)
	}
}

// A login form posted without the token of the form served, as by another site, is refused.
func TestLoginFormNeedsItsToken(t *testing.T) {
	e := newEnv(t, authConfig(t, ""), "", false)
	b := newBrowser(t, e.http.URL)
	if resp, body := b.post("/login", url.Values{"user": {"ada"}, "password": {"ada-pw"}}, nil); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "expired") {
		t.Fatalf("login without the form's token: %d\n%s", resp.StatusCode, body)
	}
}

// After five wrong passwords a client waits; each failure is counted.
func TestFailedLoginsAreLimitedAndCounted(t *testing.T) {
	e := newEnv(t, authConfig(t, ""), "", false)
	b := newBrowser(t, e.http.URL)
	for range 5 {
		if resp, _ := b.login("otto", "guess"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", resp.StatusCode)
		}
	}
	resp, body := b.login("otto", "otto-pw")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "wait a minute") {
		t.Fatalf("sixth try, with the right password: %d, want 429\n%s", resp.StatusCode, body)
	}
	if got := e.counter("alertrouter_web_login_failures_total", "reason", "password"); got != 5 {
		t.Errorf("password failures counted %v, want 5", got)
	}
	if got := e.counter("alertrouter_web_login_failures_total", "reason", "rate_limited"); got != 1 {
		t.Errorf("rate-limited tries counted %v, want 1", got)
	}
}

// A program over basic auth is limited as a login is: after five wrong passwords it gets
// 429 with Retry-After, even with the right one, not a 401 that says its password is wrong.
func TestBasicAuthOverTheLimitGets429(t *testing.T) {
	e := newEnv(t, authConfig(t, ""), "", false)
	for range 5 {
		if got := e.call(http.MethodGet, "/api/v1/notifications", http.Header{"Authorization": {basicAuth("otto", "guess")}}).StatusCode; got != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", got)
		}
	}
	resp := e.call(http.MethodGet, "/api/v1/notifications", http.Header{"Authorization": {basicAuth("otto", "otto-pw")}})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("sixth try, with the right password: %d (Retry-After %q), want 429", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if got := e.counter("alertrouter_web_login_failures_total", "reason", "rate_limited"); got != 1 {
		t.Errorf("rate-limited tries counted %v, want 1", got)
	}
	if got := e.call(http.MethodGet, "/api/v1/notifications", http.Header{"Authorization": {"Bearer viewer-token-1234"}}).StatusCode; got != http.StatusOK {
		t.Errorf("a token from the same address: %d, want 200 (tokens are not limited)", got)
	}
}

// A browser sends a password it was asked for (the API's 401 offers basic auth), or
// nothing when there are no logins, with a form that another site's page posts: such
// requests have no CSRF token, so one that the browser says comes from another site is
// refused. Programs, the console's own pages and bearer tokens are not held back.
func TestCrossSiteRequestsWithoutATokenAreRefused(t *testing.T) {
	e := newEnv(t, authConfig(t, ""), "", false)
	ada := basicAuth("ada", "ada-pw")
	open := newEnv(t, logConfig, "", false)
	for _, c := range []struct {
		name   string
		env    *env
		header http.Header
		want   int
	}{
		{"basic auth, from another site", e, http.Header{"Authorization": {ada}, "Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"basic auth, from another origin (a browser without Sec-Fetch-Site)", e, http.Header{"Authorization": {ada}, "Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"basic auth, from the console's own origin", e, http.Header{"Authorization": {ada}, "Sec-Fetch-Site": {"same-origin"}}, http.StatusOK},
		{"basic auth, from a program", e, http.Header{"Authorization": {ada}}, http.StatusOK},
		{"a bearer token, from another site", e, http.Header{"Authorization": {"Bearer admin-token-5678"}, "Sec-Fetch-Site": {"cross-site"}}, http.StatusOK},
		{"no logins, from another site", open, http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"no logins, from a program", open, nil, http.StatusOK},
	} {
		if got := c.env.call(http.MethodPost, "/-/reload", c.header).StatusCode; got != c.want {
			t.Errorf("POST /-/reload with %s: %d, want %d", c.name, got, c.want)
		}
	}
}

// Without users or tokens everything stays open, as before logins existed; /metrics can
// be made public when they are set.
func TestNoLoginsMeansOpenAndMetricsCanBePublic(t *testing.T) {
	open := newEnv(t, logConfig, "", false)
	for _, path := range []string{"/api/v1/notifications", "/metrics", "/"} {
		if got := open.call(http.MethodGet, path, nil).StatusCode; got != http.StatusOK {
			t.Errorf("%s without logins configured: %d", path, got)
		}
	}
	if got := open.call(http.MethodPost, "/-/reload", nil).StatusCode; got != http.StatusOK {
		t.Errorf("reload without logins configured: %d", got)
	}
	if got := open.call(http.MethodGet, "/login", nil); got.StatusCode != http.StatusSeeOther {
		t.Errorf("login page without logins: %d, want a redirect to the console", got.StatusCode)
	}

	public := newEnv(t, authConfig(t, "  metrics_public: true\n"), "", false)
	if got := public.call(http.MethodGet, "/metrics", nil).StatusCode; got != http.StatusOK {
		t.Errorf("/metrics with metrics_public: %d", got)
	}
	if got := public.call(http.MethodGet, "/api/v1/notifications", nil).StatusCode; got != http.StatusUnauthorized {
		t.Errorf("the API with metrics_public: %d, want 401", got)
	}
}

// Everything lives under external_url's path.
func TestExternalURLPrefix(t *testing.T) {
	e := newEnv(t, authConfig(t, "  external_url: https://alerts.example.com/alertrouter/\n"), "", false)
	if got := e.call(http.MethodGet, "/alertrouter/-/healthy", nil).StatusCode; got != http.StatusOK {
		t.Fatalf("health check under the prefix: %d", got)
	}
	if got := e.call(http.MethodGet, "/-/healthy", nil).StatusCode; got != http.StatusNotFound {
		t.Fatalf("health check outside the prefix: %d, want 404", got)
	}
	resp := e.call(http.MethodGet, "/alertrouter/", nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/alertrouter/login?next=%2Falertrouter%2F" {
		t.Fatalf("page under the prefix without a login: %d to %q", resp.StatusCode, loc)
	}
	b := newBrowser(t, e.http.URL+"/alertrouter")
	_, form := b.get("/login")
	m := csrfField.FindStringSubmatch(form)
	if m == nil {
		t.Fatalf("no login form under the prefix:\n%s", form)
	}
	resp, _ = b.post("/login", url.Values{"csrf": {m[1]}, "user": {"vera"}, "password": {"vera-pw"}}, nil)
	if c := resp.Header.Get("Set-Cookie"); !strings.Contains(c, "Path=/alertrouter/") || !strings.Contains(c, "Secure") {
		t.Fatalf("session cookie under an https external_url: %q, want its path and Secure", c)
	}
}
