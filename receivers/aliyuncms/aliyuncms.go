// Package aliyuncms sends notifications as Aliyun CloudMonitor (CMS) custom events
// (PutCustomEvent), one event per alert, named by severity so that CMS event rules can
// page by level.
package aliyuncms

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/cms"
	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"github.com/alertrouter/alertrouter/receivers"
)

// Defaults.
const (
	DefaultContent = `{{ template "cms.alertrouter.content" . }}`
	DefaultTimeout = 10 * time.Second
	// TimeLayout is how CMS wants an event's time.
	TimeLayout = "20060102T150405.000-0700"
	// maxContent bounds one event's content; maxEvents the events of one request.
	maxContent = 4096
	maxEvents  = 50
)

// Environment variables read when the config names no credentials.
const (
	EnvAccessKeyID     = "ALIBABA_CLOUD_ACCESS_KEY_ID"
	EnvAccessKeySecret = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
)

// Levels, and the event names CMS rules usually match.
var defaultEventNames = map[string]string{"critical": "critical_prometheus", "warning": "warn_prometheus", "info": "info_prometheus"}

// Config configures a CMS custom-event receiver.
type Config struct {
	RegionID            string            `yaml:"region_id"`
	GroupID             string            `yaml:"group_id"`
	AccessKeyID         string            `yaml:"access_key_id"`
	AccessKeySecret     receivers.Secret  `yaml:"access_key_secret"`
	AccessKeySecretFile string            `yaml:"access_key_secret_file"`
	RAMRoleName         string            `yaml:"ram_role_name"`
	EventNames          map[string]string `yaml:"event_names"`
	Content             string            `yaml:"content"`
	// Endpoint overrides the host[:port] of the API, e.g. a VPC endpoint.
	Endpoint string         `yaml:"endpoint"`
	Scheme   string         `yaml:"scheme"` // https (default) or http
	Timeout  model.Duration `yaml:"timeout"`
}

// Validate checks the config and fills in defaults.
func (c *Config) Validate() error {
	keys := c.AccessKeyID != "" || c.AccessKeySecret != "" || c.AccessKeySecretFile != ""
	switch {
	case c.RegionID == "":
		return &receivers.FieldError{Field: "region_id", Msg: "is required (e.g. cn-shanghai)"}
	case c.GroupID == "":
		return &receivers.FieldError{Field: "group_id", Msg: "is required: the application group the events belong to"}
	case keys && c.RAMRoleName != "":
		return &receivers.FieldError{Field: "ram_role_name", Msg: "use either access keys or ram_role_name"}
	case keys && c.AccessKeyID == "":
		return &receivers.FieldError{Field: "access_key_id", Msg: "is required with access_key_secret"}
	case keys && (c.AccessKeySecret == "") == (c.AccessKeySecretFile == ""):
		return &receivers.FieldError{Field: "access_key_secret", Msg: "set exactly one of access_key_secret or access_key_secret_file"}
	case !keys && c.RAMRoleName == "" && (os.Getenv(EnvAccessKeyID) == "" || os.Getenv(EnvAccessKeySecret) == ""):
		return &receivers.FieldError{Field: "access_key_id", Msg: "no credentials: set access_key_id with access_key_secret(_file), ram_role_name, or " + EnvAccessKeyID + " and " + EnvAccessKeySecret}
	}
	switch c.Scheme {
	case "":
		c.Scheme = "https"
	case "https", "http":
	default:
		return &receivers.FieldError{Field: "scheme", Msg: "want https or http"}
	}
	names := map[string]string{}
	for level, name := range defaultEventNames {
		names[level] = name
	}
	for level, name := range c.EventNames {
		if _, ok := defaultEventNames[level]; !ok {
			return &receivers.FieldError{Field: "event_names", Msg: fmt.Sprintf("unknown level %q (want critical, warning, info)", level)}
		}
		names[level] = name
	}
	c.EventNames = names
	if c.Content == "" {
		c.Content = DefaultContent
	}
	return nil
}

// CheckTemplates renders the content once, so that a broken template rejects the config.
func (c *Config) CheckTemplates(t *receivers.Templates) error {
	if err := t.Check(c.Content, false); err != nil {
		return &receivers.FieldError{Field: "content", Msg: err.Error()}
	}
	return nil
}

// SecretFiles lists the configured secret files by field.
func (c *Config) SecretFiles() map[string]string {
	return map[string]string{"access_key_secret_file": c.AccessKeySecretFile}
}

// Receiver puts custom events.
type Receiver struct {
	conf *Config
	tmpl *receivers.Templates
	loc  *time.Location
}

var _ receivers.Receiver = (*Receiver)(nil)

// New returns a receiver for a validated conf; event times are shown in loc.
func New(conf *Config, tmpl *receivers.Templates, loc *time.Location) *Receiver {
	return &Receiver{conf: conf, tmpl: tmpl, loc: loc}
}

// Level picks the event level of an alert: resolved alerts are info; unknown severities
// are warning.
func Level(a *template.Alert) string {
	if a.Status == string(model.AlertResolved) {
		return "info"
	}
	switch sev := a.Labels["severity"]; sev {
	case "critical", "warning", "info":
		return sev
	}
	return "warning"
}

// Send puts one event per alert, up to maxEvents per request.
func (r *Receiver) Send(ctx context.Context, m *receivers.Message) error {
	events, err := r.events(m)
	if err != nil {
		return receivers.Permanent(err)
	}
	client, err := r.client()
	if err != nil {
		return err
	}
	for len(events) > 0 {
		n := min(maxEvents, len(events))
		if err := r.put(ctx, client, events[:n]); err != nil {
			return err
		}
		events = events[n:]
	}
	return nil
}

func (r *Receiver) events(m *receivers.Message) ([]cms.PutCustomEventEventInfo, error) {
	out := make([]cms.PutCustomEventEventInfo, 0, len(m.Data.Alerts))
	for _, a := range m.Data.Alerts {
		one := *m.Data
		one.Status = a.Status
		one.Alerts = template.Alerts{a}
		content, err := receivers.Truncated(&one, maxContent, func(d *receivers.Data) (string, error) { return r.tmpl.Text(r.conf.Content, d) })
		if err != nil {
			return nil, fmt.Errorf("render content: %w", err)
		}
		out = append(out, cms.PutCustomEventEventInfo{
			GroupId:   r.conf.GroupID,
			EventName: r.conf.EventNames[Level(&a)],
			Time:      a.StartsAt.In(r.loc).Format(TimeLayout),
			Content:   content,
		})
	}
	return out, nil
}

func (r *Receiver) client() (*cms.Client, error) {
	var cred auth.Credential
	switch {
	case r.conf.RAMRoleName != "":
		cred = credentials.NewEcsRamRoleCredential(r.conf.RAMRoleName)
	case r.conf.AccessKeyID != "":
		secret, err := receivers.ReadSecret(r.conf.AccessKeySecret, r.conf.AccessKeySecretFile)
		if err != nil {
			return nil, err
		}
		cred = credentials.NewAccessKeyCredential(r.conf.AccessKeyID, secret)
	default:
		id, secret := os.Getenv(EnvAccessKeyID), os.Getenv(EnvAccessKeySecret)
		if id == "" || secret == "" {
			return nil, errors.New("no credentials: " + EnvAccessKeyID + " and " + EnvAccessKeySecret + " are not set")
		}
		cred = credentials.NewAccessKeyCredential(id, secret)
	}
	timeout := time.Duration(r.conf.Timeout)
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	// Our dispatcher retries; the SDK must not retry on its own.
	conf := sdk.NewConfig().WithTimeout(timeout).WithAutoRetry(false).WithScheme(strings.ToUpper(r.conf.Scheme))
	client, err := cms.NewClientWithOptions(r.conf.RegionID, conf, cred)
	if err != nil {
		return nil, receivers.Permanent(fmt.Errorf("cms client: %s", scrub(err.Error())))
	}
	return client, nil
}

func (r *Receiver) put(ctx context.Context, client *cms.Client, events []cms.PutCustomEventEventInfo) error {
	req := cms.CreatePutCustomEventRequest()
	req.EventInfo = &events
	req.Scheme = r.conf.Scheme
	if r.conf.Endpoint != "" {
		req.Domain = r.conf.Endpoint
	}
	type result struct {
		resp *cms.PutCustomEventResponse
		err  error
	}
	// The SDK takes no context: the call is bounded by the client timeout, and we stop
	// waiting for it when ctx ends.
	done := make(chan result, 1)
	go func() {
		resp, err := client.PutCustomEvent(req)
		done <- result{resp, err}
	}()
	var res result
	select {
	case <-ctx.Done():
		return fmt.Errorf("cms: %w", ctx.Err())
	case res = <-done:
	}
	if res.err != nil {
		return classify(res.err)
	}
	if res.resp.Code != "200" {
		// HTTP 200 with a failure Code: the SDK reports no error.
		return classifyCode(res.resp.Code, fmt.Errorf("cms: %s: %s", res.resp.Code, res.resp.Message), 200)
	}
	return nil
}

// classify sorts the SDK's errors: throttling waits, server errors and network problems
// retry, and bad credentials or requests are permanent.
func classify(err error) error {
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		return classifyCode(se.ErrorCode(), fmt.Errorf("cms: %s (HTTP %d): %s", se.ErrorCode(), se.HttpStatus(), scrub(se.Message())), se.HttpStatus())
	}
	return fmt.Errorf("cms: %s", scrub(err.Error()))
}

func classifyCode(code string, err error, status int) error {
	switch {
	case strings.HasPrefix(code, "Throttling"):
		return receivers.Throttled(err, 0)
	case strings.HasPrefix(code, "InvalidAccessKeyId"), code == "SignatureDoesNotMatch",
		strings.HasPrefix(code, "Forbidden"), strings.HasPrefix(code, "InvalidParameter"):
		return receivers.Permanent(err)
	case status >= 500, code == "500", strings.HasPrefix(code, "ServiceUnavailable"), strings.HasPrefix(code, "InternalError"):
		return err
	case status >= 400, strings.HasPrefix(code, "4"):
		return receivers.Permanent(err)
	}
	return err
}

// queryString matches the query of a URL in an SDK message: it carries the AccessKeyId
// and the signature.
var queryString = regexp.MustCompile(`(https?://[^\s"?]*)\?[^\s"]*`)

func scrub(s string) string { return queryString.ReplaceAllString(s, "$1?<redacted>") }
