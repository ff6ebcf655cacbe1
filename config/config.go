// Package config owns alertrouter's YAML configuration: its types and defaults, strict
// loading (unknown fields are errors), validation with messages that name the field and
// its line, and the embedded default config.
package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
	"gopkg.in/yaml.v3"

	"github.com/alertrouter/alertrouter/config/duration"
	"github.com/alertrouter/alertrouter/receivers"
)

//go:embed default.yml
var defaultYAML []byte

// Config is the whole alertrouter configuration.
type Config struct {
	Global Global `yaml:"global"`
	// Templates are globs of Alertmanager-style template files, loaded after the defaults.
	Templates        []string   `yaml:"templates"`
	Webhook          Webhook    `yaml:"webhook"`
	Receivers        []Receiver `yaml:"receivers"`
	Routes           []Route    `yaml:"routes"`
	DefaultReceivers []string   `yaml:"default_receivers"`
	// Watchdog is nil when the watchdog is not configured.
	Watchdog *Watchdog `yaml:"watchdog"`
	// Web is the console's and the API's address and logins.
	Web Web `yaml:"web"`
	// Alertmanagers are where silences go: every one of them (an unclustered pair shares
	// nothing).
	Alertmanagers []Alertmanager `yaml:"alertmanagers"`

	// Built by validation.
	templates *receivers.Templates
	location  *time.Location
}

// Tmpl returns the loaded templates.
func (c *Config) Tmpl() *receivers.Templates { return c.templates }

// Location is global.timezone, loaded.
func (c *Config) Location() *time.Location { return c.location }

// Global holds the settings that apply everywhere.
type Global struct {
	// HostgroupLabel is the alert label that routing looks at.
	HostgroupLabel string `yaml:"hostgroup_label"`
	// RepeatInterval is how long a firing alert stays quiet at a receiver after it was sent.
	RepeatInterval duration.Duration `yaml:"repeat_interval"`
	// SendResolved sends a resolved notification for every alert whose firing was sent.
	SendResolved bool `yaml:"send_resolved"`
	// Retention is how long finished notifications and dedupe claims are kept.
	Retention duration.Duration `yaml:"retention"`
	// MaxRetryAge is how long the dispatcher keeps retrying a notification before it is dead.
	MaxRetryAge duration.Duration `yaml:"max_retry_age"`
	// Timezone shows times in templates: "Local" (default), "UTC", or an IANA name such as
	// "Asia/Shanghai".
	Timezone string `yaml:"timezone"`
	// MaxClockSkew is how far ahead of our clock an alert's startsAt may be before it is
	// logged and counted as coming from a host with a wrong clock. It is accepted anyway.
	MaxClockSkew duration.Duration `yaml:"max_clock_skew"`
}

// Webhook configures the /webhook endpoint that Alertmanager posts to: the credentials it
// must send.
type Webhook struct {
	Credentials `yaml:",inline"`
	// MaxBodyBytes bounds a request body; larger requests get 413.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// Credentials are what Alertmanager's http_config holds: a bearer token or basic auth, or
// neither.
type Credentials struct {
	BearerToken     receivers.Secret `yaml:"bearer_token"`
	BearerTokenFile string           `yaml:"bearer_token_file"`
	BasicAuth       *BasicAuth       `yaml:"basic_auth"`
}

// BasicAuth is HTTP basic authentication, as Alertmanager's http_config sends it.
type BasicAuth struct {
	Username     string           `yaml:"username"`
	Password     receivers.Secret `yaml:"password"`
	PasswordFile string           `yaml:"password_file"`
}

// Route sends alerts of matching host groups to receivers.
type Route struct {
	// Name shows in `route test`, the API and stored notifications; defaults to "routes[i]".
	Name           string   `yaml:"name"`
	Hostgroup      string   `yaml:"hostgroup"`
	HostgroupRegex string   `yaml:"hostgroup_regex"`
	Matchers       []string `yaml:"matchers"`
	Receivers      []string `yaml:"receivers"`
	Continue       bool     `yaml:"continue"`

	// Compiled by validation.
	hostgroupRegex *regexp.Regexp
	matchers       labels.Matchers
}

// HostgroupRegexp is the anchored hostgroup_regex, nil when unset.
func (r *Route) HostgroupRegexp() *regexp.Regexp { return r.hostgroupRegex }

// MatchesHostgroup reports whether the route's hostgroup and hostgroup_regex accept
// an alert's host group; has is false when the alert has no host group label.
func (r *Route) MatchesHostgroup(hostgroup string, has bool) bool {
	if r.Hostgroup != "" && (!has || hostgroup != r.Hostgroup) {
		return false
	}
	if r.hostgroupRegex != nil && (!has || !r.hostgroupRegex.MatchString(hostgroup)) {
		return false
	}
	return true
}

// ParsedMatchers are the route's matchers.
func (r *Route) ParsedMatchers() labels.Matchers { return r.matchers }

// Defaults.
const (
	DefaultHostgroupLabel = "hostgroup"
	DefaultRepeatInterval = 4 * time.Hour
	DefaultRetention      = 168 * time.Hour
	DefaultMaxRetryAge    = 24 * time.Hour
	DefaultMaxClockSkew   = time.Hour
	DefaultMaxBodyBytes   = 10 << 20
)

func defaults() Config {
	return Config{
		Global: Global{
			HostgroupLabel: DefaultHostgroupLabel,
			RepeatInterval: duration.Duration(DefaultRepeatInterval),
			SendResolved:   true,
			Retention:      duration.Duration(DefaultRetention),
			MaxRetryAge:    duration.Duration(DefaultMaxRetryAge),
			MaxClockSkew:   duration.Duration(DefaultMaxClockSkew),
			Timezone:       "Local",
		},
		Webhook: Webhook{MaxBodyBytes: DefaultMaxBodyBytes},
	}
}

// Default returns the embedded default config.
func Default() *Config {
	c, err := Load(defaultYAML, "default.yml")
	if err != nil {
		panic("embedded default config is invalid: " + err.Error())
	}
	return c
}

// LoadFileOrDefault loads path, or the embedded default config when path is empty
// (no --config.file given).
func LoadFileOrDefault(path string) (*Config, error) {
	if path == "" {
		return Default(), nil
	}
	return LoadFile(path)
}

// LoadFile reads and validates the config in path.
func LoadFile(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Load(b, path)
}

// Load parses and validates a config; name prefixes error messages (usually the file path).
func Load(b []byte, name string) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, syntaxError(name, b, err)
	}
	if isEmpty(&root) {
		return nil, emptyError(name)
	}
	c := defaults()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return nil, typeErrors(name, &root, te)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := c.validate(); err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			return nil, fmt.Errorf("%s:%d: %s: %s", name, lineOf(&root, fe.path), fe.path, fe.msg)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &c, nil
}

// Receiver returns the receiver with the given name.
func (c *Config) Receiver(name string) (*Receiver, bool) {
	for i := range c.Receivers {
		if c.Receivers[i].Name == name {
			return &c.Receivers[i], true
		}
	}
	return nil, false
}

// Warnings lists problems that do not stop the config from loading but will bite at run
// time, such as a secret file that is not readable yet.
func (c *Config) Warnings() []string {
	var out []string
	check := func(field, file string) {
		if file == "" {
			return
		}
		if _, err := receivers.ReadSecret("", file); err != nil {
			out = append(out, fmt.Sprintf("%s: %v", field, err))
		}
	}
	for i, glob := range c.Templates {
		// Alertmanager's template loading skips a glob that matches nothing: a typo in a
		// path would silently leave the defaults in place.
		if files, err := filepath.Glob(glob); err == nil && len(files) == 0 {
			out = append(out, fmt.Sprintf("templates[%d]: %q matches no file", i, glob))
		}
	}
	c.Webhook.Credentials.secretFiles("webhook", check)
	for i, t := range c.Web.APITokens {
		check(fmt.Sprintf("web.api_tokens[%d].token_file", i), t.TokenFile)
	}
	for i, am := range c.Alertmanagers {
		am.Credentials.secretFiles(fmt.Sprintf("alertmanagers[%d]", i), check)
	}
	for i := range c.Receivers {
		r := &c.Receivers[i]
		sf, ok := r.Config.(receivers.SecretFiler)
		if !ok {
			continue
		}
		files := sf.SecretFiles()
		for _, field := range slices.Sorted(maps.Keys(files)) {
			check(fmt.Sprintf("receivers[%d].%s.%s", i, r.Integration.Key, field), files[field])
		}
	}
	return out
}
