package config

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/alertrouter/alertrouter/receivers"
)

// Alertmanager is one Alertmanager that alertrouter sends silences to, and the watchdog
// may probe (watchdog.alertmanager names it).
type Alertmanager struct {
	Name string `yaml:"name"`
	// URL is its base URL, with its --web.route-prefix if it has one.
	URL                        string `yaml:"url"`
	Credentials                `yaml:",inline"`
	receivers.HTTPClientConfig `yaml:",inline"`
}

// Authorize gives req the credentials, the files read now: basic auth, a bearer token,
// or nothing.
func (c *Credentials) Authorize(req *http.Request) error {
	switch {
	case c.BasicAuth != nil:
		password, err := receivers.ReadSecret(c.BasicAuth.Password, c.BasicAuth.PasswordFile)
		if err != nil {
			return fmt.Errorf("basic_auth: %w", err)
		}
		req.SetBasicAuth(c.BasicAuth.Username, password)
	case c.BearerToken != "" || c.BearerTokenFile != "":
		token, err := receivers.ReadSecret(c.BearerToken, c.BearerTokenFile)
		if err != nil {
			return fmt.Errorf("bearer_token: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return nil
}

// validateAlertmanagers checks the alertmanagers section.
func validateAlertmanagers(ams []Alertmanager) error {
	names := map[string]bool{}
	for i := range ams {
		am := &ams[i]
		path := fmt.Sprintf("alertmanagers[%d]", i)
		if am.Name == "" {
			return errf(path+".name", "is required")
		}
		if names[am.Name] {
			return errf(path+".name", "duplicate Alertmanager name %q", am.Name)
		}
		names[am.Name] = true
		if err := checkBaseURL(path+".url", am.URL, "http://alertmanager:9093"); err != nil {
			return err
		}
		if u, _ := url.Parse(am.URL); u.User != nil {
			return errf(path+".url", "has credentials, which would show wherever the URL does: use basic_auth or bearer_token_file")
		}
		am.URL = strings.TrimSuffix(am.URL, "/")
		if err := am.Credentials.validate(path); err != nil {
			return err
		}
		if err := am.HTTPClientConfig.Validate(); err != nil {
			var fe *receivers.FieldError
			if errors.As(err, &fe) {
				return errf(path+"."+fe.Field, "%s", fe.Msg)
			}
			return errf(path, "%v", err)
		}
	}
	return nil
}

// checkBaseURL checks a server's base URL at path: http or https, a host, no query.
func checkBaseURL(path, raw, example string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errf(path, "want an http:// or https:// URL, such as %s", example)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return errf(path, "want the server's base URL, without query or fragment; a path prefix (for --web.route-prefix) is fine")
	}
	return nil
}
