package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/alertrouter/alertrouter/config/duration"
	"github.com/alertrouter/alertrouter/receivers"
)

// Web configures the console and the API: the address people reach them at, and who may
// use them. /webhook has its own credentials (webhook:), and /-/healthy and /-/ready
// none.
type Web struct {
	// ExternalURL is where people reach alertrouter (links in messages); its path, if any,
	// is the prefix everything is served under.
	ExternalURL string `yaml:"external_url"`
	// Users log in to the console, or use the API with basic auth.
	Users []User `yaml:"users"`
	// APITokens are for programs: Authorization: Bearer.
	APITokens []APIToken `yaml:"api_tokens"`
	// MetricsPublic serves /metrics without credentials, as Prometheus scrapes it.
	MetricsPublic bool `yaml:"metrics_public"`
	// SessionTimeout is how long a console login lasts.
	SessionTimeout duration.Duration `yaml:"session_timeout"`
	// SignedLinkTTL is how long the links that messages carry to act on an alert work.
	SignedLinkTTL duration.Duration `yaml:"signed_link_ttl"`
	// SignedLinksActWithoutLogin lets such a link act with no login: whoever has the
	// message may acknowledge or silence its alert.
	SignedLinksActWithoutLogin bool `yaml:"signed_links_act_without_login"`

	externalURL *url.URL
}

// DefaultSessionTimeout is how long a console login lasts by default: a working day.
const DefaultSessionTimeout = 12 * time.Hour

// DefaultSignedLinkTTL is how long a message's action links work by default.
const DefaultSignedLinkTTL = 24 * time.Hour

// User is a console and API login.
type User struct {
	Name string `yaml:"name"`
	// PasswordHash is a bcrypt hash, as in Prometheus's web.config
	// (alertrouter hash-password, or htpasswd -nBC 10).
	PasswordHash receivers.Secret `yaml:"password_hash"`
	Role         Role             `yaml:"role"`
}

// APIToken is a bearer token for a program.
type APIToken struct {
	Name      string           `yaml:"name"`
	Token     receivers.Secret `yaml:"token"`
	TokenFile string           `yaml:"token_file"`
	Role      Role             `yaml:"role"`
}

// Role is what a login may do: a viewer reads, an operator also acts (retries, discards,
// silences, acknowledgements), an admin also reloads the config.
type Role string

// The roles, from least to most allowed.
const (
	Viewer   Role = "viewer"
	Operator Role = "operator"
	Admin    Role = "admin"
)

func (r Role) rank() int {
	switch r {
	case Viewer:
		return 1
	case Operator:
		return 2
	case Admin:
		return 3
	}
	return 0
}

// Allows reports whether the role may do what needs role need.
func (r Role) Allows(need Role) bool { return r.rank() > 0 && r.rank() >= need.rank() }

// AuthEnabled reports whether logins or tokens are configured: without either, the
// console and the API are open, as before version 0.8.
func (w *Web) AuthEnabled() bool { return len(w.Users) > 0 || len(w.APITokens) > 0 }

// URL is external_url parsed; nil when it is not set.
func (w *Web) URL() *url.URL { return w.externalURL }

// RoutePrefix is the path everything is served under: external_url's path without its
// trailing slash, or "" for the root.
func (w *Web) RoutePrefix() string {
	if w.externalURL == nil {
		return ""
	}
	return strings.TrimSuffix(w.externalURL.Path, "/")
}

// User returns the user named name.
func (w *Web) User(name string) (*User, bool) {
	for i := range w.Users {
		if w.Users[i].Name == name {
			return &w.Users[i], true
		}
	}
	return nil, false
}

func (w *Web) validate() error {
	if w.ExternalURL != "" {
		u, err := url.Parse(w.ExternalURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errf("web.external_url", "want an absolute http or https URL, such as https://alerts.example.com/alertrouter/")
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return errf("web.external_url", "must not have a query or a fragment")
		}
		w.externalURL = u
	}
	if w.SessionTimeout == 0 {
		w.SessionTimeout = duration.Duration(DefaultSessionTimeout)
	}
	if w.SessionTimeout < duration.Duration(time.Minute) {
		return errf("web.session_timeout", "must be at least a minute")
	}
	if w.SignedLinkTTL == 0 {
		w.SignedLinkTTL = duration.Duration(DefaultSignedLinkTTL)
	}
	if w.SignedLinkTTL < duration.Duration(time.Minute) || w.SignedLinkTTL > duration.Duration(30*24*time.Hour) {
		return errf("web.signed_link_ttl", "must be from a minute to 30 days")
	}
	names := map[string]bool{}
	for i := range w.Users {
		u := &w.Users[i]
		path := fmt.Sprintf("web.users[%d]", i)
		switch {
		case u.Name == "":
			return errf(path+".name", "is required")
		case strings.ContainsAny(u.Name, ":\r\n"):
			return errf(path+".name", "must not contain ':' or line breaks (basic auth cannot carry them)")
		case names[u.Name]:
			return errf(path+".name", "duplicate user %q", u.Name)
		}
		names[u.Name] = true
		if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
			return errf(path+".password_hash", "not a bcrypt hash (make one with alertrouter hash-password or htpasswd -nBC 10)")
		}
		if err := u.Role.validate(path + ".role"); err != nil {
			return err
		}
	}
	tokens := map[string]bool{}
	for i := range w.APITokens {
		t := &w.APITokens[i]
		path := fmt.Sprintf("web.api_tokens[%d]", i)
		switch {
		case t.Name == "":
			return errf(path+".name", "is required")
		case tokens[t.Name]:
			return errf(path+".name", "duplicate token name %q", t.Name)
		case t.Token == "" && t.TokenFile == "":
			return errf(path+".token", "one of token or token_file is required")
		case t.Token != "" && t.TokenFile != "":
			return errf(path+".token", "token and token_file are mutually exclusive")
		}
		tokens[t.Name] = true
		if err := t.Role.validate(path + ".role"); err != nil {
			return err
		}
	}
	return nil
}

func (r Role) validate(path string) error {
	if r.rank() == 0 {
		return errf(path, "want viewer, operator or admin, got %q", r)
	}
	return nil
}
