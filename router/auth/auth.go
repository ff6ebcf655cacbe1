// Package auth says who is asking and what they may do: console logins (a session
// cookie, with a CSRF token for every form), API tokens (Authorization: Bearer) and users
// over basic auth, checked against the web section of the config (config.Web). Passwords
// are bcrypt hashes, compared by bcrypt; tokens are compared in constant time. Failed
// logins are limited per client and counted.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/store"
)

// SessionCookie is the console's login cookie.
const SessionCookie = "alertrouter_session"

// Identity is who made a request.
type Identity struct {
	Name string
	Role config.Role
	// Via says how they proved it: "session", "token", "basic", or "open" when the config
	// has no logins (everyone is an admin, as before logins existed).
	Via string
	// CSRF is the session's token, which its forms must send back; empty but for sessions.
	CSRF string
}

// Open is everyone, when the config has no logins.
var Open = Identity{Name: "anonymous", Role: config.Admin, Via: "open"}

// Errors of Login.
var (
	ErrBadLogin    = errors.New("wrong user name or password")
	ErrRateLimited = errors.New("too many failed logins from this address; wait a minute")
)

// Failed logins: a client gets loginBurst tries, then one every loginEvery.
const (
	loginBurst = 5
	loginEvery = 12 * time.Second
	// maxClients bounds the limiters kept; the oldest go first.
	maxClients = 10000
	// basicCacheFor is how long a basic-auth password that bcrypt accepted is remembered:
	// bcrypt takes tens of milliseconds on purpose, and API clients send it every time.
	basicCacheFor = 5 * time.Minute
)

// Authenticator checks credentials. It is safe for concurrent use.
type Authenticator struct {
	store    *store.Store
	now      func() time.Time
	failures *prometheus.CounterVec

	mu       sync.Mutex
	limiters map[string]*clientLimiter
	// verified maps the SHA-256 of "user\x00password\x00hash" to when bcrypt accepted it.
	verified map[[32]byte]time.Time
	// dummies are the hashes compareDummy made, by cost.
	dummies map[int][]byte
}

type clientLimiter struct {
	*rate.Limiter
	seen time.Time
	// checking counts the client's tries whose passwords are being checked, and waiting
	// the tries waiting for one of them to end, which closes ended.
	checking, waiting int
	ended             chan struct{}
}

// New builds an Authenticator on st, with its metric registered on reg.
func New(st *store.Store, reg prometheus.Registerer, now func() time.Time) *Authenticator {
	a := &Authenticator{
		store: st, now: now,
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alertrouter_web_login_failures_total",
			Help: "Failed console logins and API credentials, by reason (password, unknown_user, token, rate_limited).",
		}, []string{"reason"}),
		limiters: map[string]*clientLimiter{},
		verified: map[[32]byte]time.Time{},
		dummies:  map[int][]byte{},
	}
	for _, reason := range []string{"password", "unknown_user", "token", "rate_limited"} {
		a.failures.WithLabelValues(reason)
	}
	reg.MustRegister(a.failures)
	return a
}

// Identify says who made r: a session cookie, a bearer token or basic auth, checked
// against web. ok is false when r carries no credentials or wrong ones; when web has no
// logins at all, everyone is Open. err is ErrRateLimited when r's client has no try left
// for a password, or the store's failure to read a session.
func (a *Authenticator) Identify(r *http.Request, web *config.Web) (id Identity, ok bool, err error) {
	if !web.AuthEnabled() {
		return Open, true, nil
	}
	if token, found := bearerToken(r); found {
		for _, t := range web.APITokens {
			want, err := receivers.ReadSecret(t.Token, t.TokenFile)
			if err != nil {
				return Identity{}, false, fmt.Errorf("api token %s: %w", t.Name, err)
			}
			if Equal(token, want) {
				return Identity{Name: t.Name, Role: t.Role, Via: "token"}, true, nil
			}
		}
		a.failures.WithLabelValues("token").Inc()
		return Identity{}, false, nil
	}
	if name, password, found := r.BasicAuth(); found {
		u, err := a.check(web, name, password, Client(r))
		if errors.Is(err, ErrRateLimited) {
			return Identity{}, false, err
		}
		if err != nil {
			return Identity{}, false, nil
		}
		return Identity{Name: u.Name, Role: u.Role, Via: "basic"}, true, nil
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return Identity{}, false, nil
	}
	ss, found, err := a.store.Session(r.Context(), HashID(c.Value), a.now())
	if err != nil || !found {
		return Identity{}, false, err
	}
	// The role is the user's now: a reload that changed it, or removed the user, counts
	// at once.
	u, found := web.User(ss.User)
	if !found {
		return Identity{}, false, nil
	}
	return Identity{Name: u.Name, Role: u.Role, Via: "session", CSRF: ss.CSRF}, true, nil
}

// Login checks a user's password and opens a session; it returns the cookie's value (the
// session id, which the store holds only hashed). client is the address failures are
// limited by.
func (a *Authenticator) Login(ctx context.Context, web *config.Web, name, password, client string) (string, error) {
	u, err := a.check(web, name, password, client)
	if err != nil {
		return "", err
	}
	id, csrf := Random(), Random()
	now := a.now()
	err = a.store.CreateSession(ctx, store.Session{
		IDHash: HashID(id), User: u.Name, CSRF: csrf, CreatedAt: now, ExpiresAt: now.Add(web.SessionTimeout.Std()),
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// Logout ends the session of r's cookie, if any.
func (a *Authenticator) Logout(ctx context.Context, r *http.Request) error {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil
	}
	return a.store.DeleteSession(ctx, HashID(c.Value))
}

// check verifies name and password against web's users. Unless bcrypt accepted the same
// password lately, checking takes one of client's tries (ErrRateLimited if none is left),
// which a failure uses up.
func (a *Authenticator) check(web *config.Web, name, password, client string) (u *config.User, err error) {
	u, found := web.User(name)
	var key [32]byte
	if found {
		key = sha256.Sum256([]byte(name + "\x00" + password + "\x00" + string(u.PasswordHash)))
		a.mu.Lock()
		at, cached := a.verified[key]
		a.mu.Unlock()
		if cached && a.now().Sub(at) < basicCacheFor {
			return u, nil
		}
	}
	try, ok := a.try(client)
	if !ok {
		a.failures.WithLabelValues("rate_limited").Inc()
		return nil, ErrRateLimited
	}
	defer func() { try.settle(err != nil) }()
	if !found {
		// The same work as a wrong password, so that timing does not tell which names exist.
		a.compareDummy(web, password)
		a.failures.WithLabelValues("unknown_user").Inc()
		return nil, ErrBadLogin
	}
	if err := bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)); err != nil {
		a.failures.WithLabelValues("password").Inc()
		return nil, ErrBadLogin
	}
	a.mu.Lock()
	if len(a.verified) >= maxClients {
		clear(a.verified)
	}
	a.verified[key] = a.now()
	a.mu.Unlock()
	return u, nil
}

// dummyHash is compared against when the user does not exist, so that the answer takes
// as long as for a user who does: a bcrypt hash of cost 10, hash-password's (of
// "alertrouter"). It is a constant because computing it took every start of every command
// 60 ms of CPU.
var dummyHash = []byte("$2a$10$zskjNFjiCCduwVVGA3YzOeFZGHI4oNg9OfGFtc1RaqrkTfXDGKp6a")

// compareDummy does the work of checking password against a hash of the highest cost
// among web's users: a user whose hash costs 12 takes four times as long to refuse as one
// of cost 10, and an unknown name must not be refused sooner (or later) than they are.
// Hashes of other costs than dummyHash's are made once each, at the first login that
// needs one: making a hash takes as long as comparing against it, so that login is no
// quicker either.
func (a *Authenticator) compareDummy(web *config.Web, password string) {
	cost := 0
	for _, u := range web.Users {
		if c, err := bcrypt.Cost([]byte(u.PasswordHash)); err == nil && c > cost {
			cost = c
		}
	}
	hash, made := a.dummyOfCost(cost)
	if !made {
		_ = bcrypt.CompareHashAndPassword(hash, []byte(password))
	}
}

// dummyOfCost returns the dummy hash of cost (dummyHash's when no user has a hash), and
// whether making it was this call's work.
func (a *Authenticator) dummyOfCost(cost int) (hash []byte, made bool) {
	if cost == 0 || cost == bcrypt.DefaultCost {
		return dummyHash, false
	}
	a.mu.Lock()
	hash, ok := a.dummies[cost]
	a.mu.Unlock()
	if ok {
		return hash, false
	}
	// Config validation accepts only hashes whose cost bcrypt accepts.
	hash, _ = bcrypt.GenerateFromPassword([]byte("alertrouter"), cost)
	a.mu.Lock()
	a.dummies[cost] = hash
	a.mu.Unlock()
	return hash, true
}

// try takes one of client's tries before its password is checked, or reports that none is
// left. Checking takes bcrypt's tens of milliseconds, and a limit that counted failures
// only once they were known would let attempts sent at once all pass it; so tries being
// checked hold tries back, and when they hold back the last ones, a new try waits for
// one of them to end: a failure uses its try up, a success gives it back.
func (a *Authenticator) try(client string) (loginTry, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for {
		now := a.now()
		l, ok := a.limiters[client]
		if !ok {
			if len(a.limiters) >= maxClients {
				a.forgetOldest()
			}
			l = &clientLimiter{Limiter: rate.NewLimiter(rate.Every(loginEvery), loginBurst), ended: make(chan struct{})}
			a.limiters[client] = l
		}
		l.seen = now
		left := l.TokensAt(now)
		switch {
		case left < 1:
			return loginTry{}, false
		case left-float64(l.checking) >= 1:
			l.checking++
			return loginTry{a, l}, true
		}
		ended := l.ended
		l.waiting++
		a.mu.Unlock()
		<-ended
		a.mu.Lock()
		l.waiting--
	}
}

// loginTry is a try that try took.
type loginTry struct {
	a *Authenticator
	l *clientLimiter
}

// settle ends the try: a failure uses up one of the client's tries; a success does not.
func (t loginTry) settle(failed bool) {
	now := t.a.now()
	t.a.mu.Lock()
	defer t.a.mu.Unlock()
	t.l.checking--
	if failed {
		t.l.AllowN(now, 1)
	}
	close(t.l.ended)
	t.l.ended = make(chan struct{})
}

func (a *Authenticator) forgetOldest() {
	var oldest string
	var at time.Time
	for c, l := range a.limiters {
		if oldest == "" || l.seen.Before(at) {
			oldest, at = c, l.seen
		}
	}
	delete(a.limiters, oldest)
}

// Client is the address of r's client, without its port.
func Client(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Random is 32 random bytes, URL-safe base64.
func Random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashID is how the store holds a session id: its SHA-256, hex.
func HashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// Equal compares secrets in constant time, over their hashes so that their lengths do
// not leak either.
func Equal(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

func bearerToken(r *http.Request) (string, bool) {
	const prefix = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	return h[len(prefix):], true
}

// BearerToken is the token of r's Authorization header, if it has one.
func BearerToken(r *http.Request) (string, bool) { return bearerToken(r) }

// CheckCSRF reports whether a request that changes something may have been made by
// another site's page, through credentials the browser sends by itself:
//   - a session's cookie: the request must carry the session's CSRF token (form field
//     "csrf" or header X-CSRF-Token);
//   - a user's password over basic auth, which a browser keeps once it has asked for it
//     (the API's 401 offers basic auth), and everyone when there are no logins: they have
//     no token, so a request that the browser says comes from another site (Sec-Fetch-Site,
//     or an Origin that is not the Host) is refused;
//   - a bearer token, which no browser sends by itself: nothing to check.
func (id Identity) CheckCSRF(r *http.Request) bool {
	switch id.Via {
	case "session":
		got := r.Header.Get("X-CSRF-Token")
		if got == "" {
			got = r.PostFormValue("csrf")
		}
		return got != "" && Equal(got, id.CSRF)
	case "token":
		return true
	default:
		return crossOrigin.Check(r) == nil
	}
}

// crossOrigin tells requests that a browser sent from another site.
var crossOrigin = http.NewCrossOriginProtection()
