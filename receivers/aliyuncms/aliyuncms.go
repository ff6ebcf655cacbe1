// Package aliyuncms sends notifications as Aliyun CloudMonitor (CMS) custom events
// (PutCustomEvent), one event per alert, named by severity so that CMS event rules can
// page by level.
package aliyuncms

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/cms"
	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"github.com/alertrouter/alertrouter/config/duration"
	"github.com/alertrouter/alertrouter/receivers"
)

// Defaults.
const (
	DefaultContent = `{{ template "cms.alertrouter.content" . }}`
	DefaultTimeout = 10 * time.Second
	// TimeLayout is how CMS wants an event's time.
	TimeLayout = "20060102T150405.000-0700"
	// The SDK sends events in the query string, and API gateways refuse long URLs (414).
	// maxContent bounds one event's content (before encoding); maxQuery the encoded events
	// of one request, which carries at most maxEvents.
	maxContent = 1024
	maxQuery   = 6 << 10
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
	Endpoint string            `yaml:"endpoint"`
	Scheme   string            `yaml:"scheme"` // https (default) or http
	Timeout  duration.Duration `yaml:"timeout"`

	receivers.HTTPClientConfig `yaml:",inline"`
}

var (
	_ receivers.Config          = (*Config)(nil)
	_ receivers.SecretFiler     = (*Config)(nil)
	_ receivers.TemplateChecker = (*Config)(nil)
)

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
	case !regionID.MatchString(c.RegionID):
		return &receivers.FieldError{Field: "region_id", Msg: fmt.Sprintf("%q is not a region ID such as cn-shanghai", c.RegionID)}
	case c.Endpoint != "" && !endpoint.MatchString(c.Endpoint):
		return &receivers.FieldError{Field: "endpoint", Msg: fmt.Sprintf("%q: want host[:port], without scheme or path", c.Endpoint)}
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
	return c.HTTPClientConfig.Validate()
}

// CheckTemplates renders the content once, so that a broken template rejects the config.
func (c *Config) CheckTemplates(t *receivers.Templates) error {
	return t.CheckFields(receivers.TemplateField{Name: "content", Text: c.Content})
}

// SecretFiles lists the configured secret files by field.
func (c *Config) SecretFiles() map[string]string {
	return map[string]string{"access_key_secret_file": c.AccessKeySecretFile}
}

var (
	regionID = regexp.MustCompile(`^[a-z0-9-]+$`)
	endpoint = regexp.MustCompile(`^[A-Za-z0-9.-]+(:[0-9]{1,5})?$`)
)

// Receiver puts custom events.
type Receiver struct {
	conf *Config
	tmpl *receivers.Templates
	loc  *time.Location

	// The SDK client is reused while its credentials stay the same: each new one opens
	// connections of its own.
	mu     sync.Mutex
	cached *cms.Client
	key    string // the credentials cached was built with
	// progress is how many requests of a notification's events CMS took before one
	// failed: under its flow control, a notification of many requests never got past the
	// first ones, which CMS kept again at every try.
	progress receivers.Progress[int]
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
func (r *Receiver) Send(ctx context.Context, m *receivers.Message) (err error) {
	events, err := r.events(m)
	if err != nil {
		return receivers.Permanent(err)
	}
	client, secret, err := r.client()
	if err != nil {
		return err
	}
	// Requests carry only a signature, but an answer must not carry the secret either,
	// nor a proxy its own URL and password.
	defer func() { err = receivers.Scrub(err, append(r.conf.Secrets(), secret)...) }()
	requests := batches(events)
	for i := r.progress.Of(m.ID); i < len(requests); i++ {
		if err := r.put(ctx, client, requests[i]); err != nil {
			if receivers.IsPermanent(err) {
				r.progress.Forget(m.ID) // dead: a retry of it, a new notification, sends everything
			} else {
				r.progress.Keep(m.ID, i)
			}
			return err
		}
	}
	r.progress.Forget(m.ID)
	return nil
}

// batches splits events into requests of at most maxEvents whose encoded size stays
// under maxQuery.
func batches(events []cms.PutCustomEventEventInfo) [][]cms.PutCustomEventEventInfo {
	var out [][]cms.PutCustomEventEventInfo
	start, size := 0, 0
	for i, e := range events {
		n := len(url.QueryEscape(e.Content)) + len(e.EventName) + len(e.GroupId) + len(e.Time) + 100
		if i > start && (i-start == maxEvents || size+n > maxQuery) {
			out = append(out, events[start:i])
			start, size = i, 0
		}
		size += n
	}
	if start < len(events) {
		out = append(out, events[start:])
	}
	return out
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

// Preview is the events Send would put: name, time and content of each.
func (r *Receiver) Preview(m *receivers.Message) (string, error) {
	events, err := r.events(m)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i, e := range events {
		if i > 0 {
			b.WriteString("\n\n")
		}
		fmt.Fprintf(&b, "%s (group %s) at %s\n%s", e.EventName, e.GroupId, e.Time, e.Content)
	}
	return b.String(), nil
}

var _ receivers.Previewer = (*Receiver)(nil)

// client returns the SDK client for the current credentials, and the access key secret
// (empty for a RAM role).
func (r *Receiver) client() (client *cms.Client, secret string, err error) {
	var (
		cred auth.Credential
		key  string
	)
	switch {
	case r.conf.RAMRoleName != "":
		cred, key = credentials.NewEcsRamRoleCredential(r.conf.RAMRoleName), "role:"+r.conf.RAMRoleName
	case r.conf.AccessKeyID != "":
		if secret, err = receivers.ReadSecret(r.conf.AccessKeySecret, r.conf.AccessKeySecretFile); err != nil {
			return nil, "", err
		}
		cred, key = credentials.NewAccessKeyCredential(r.conf.AccessKeyID, secret), r.conf.AccessKeyID+":"+secret
	default:
		var id string
		id, secret = os.Getenv(EnvAccessKeyID), os.Getenv(EnvAccessKeySecret)
		if id == "" || secret == "" {
			return nil, "", errors.New("no credentials: " + EnvAccessKeyID + " and " + EnvAccessKeySecret + " are not set")
		}
		cred, key = credentials.NewAccessKeyCredential(id, secret), id+":"+secret
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cached != nil && r.key == key {
		return r.cached, secret, nil
	}
	timeout := r.conf.Timeout.Or(DefaultTimeout)
	// Our dispatcher retries; the SDK must not retry on its own.
	conf := sdk.NewConfig().WithTimeout(timeout).WithAutoRetry(false).WithScheme(strings.ToUpper(r.conf.Scheme))
	if client, err = cms.NewClientWithOptions(r.conf.RegionID, conf, cred); err != nil {
		return nil, "", receivers.Permanent(fmt.Errorf("cms client: %s", scrub(err.Error())))
	}
	// proxy_url and tls_config, as on every HTTP receiver. The SDK applies a proxy and
	// InsecureSkipVerify of its own on each request: give it ours, so that it keeps them.
	transport, err := r.conf.HTTPClientConfig.NewTransport()
	if err != nil {
		return nil, "", err
	}
	client.SetTransport(transport)
	client.SetHTTPSInsecure(r.conf.TLSConfig.InsecureSkipVerify)
	if proxy := string(r.conf.ProxyURL); proxy != "" {
		client.SetHttpProxy(proxy)
		client.SetHttpsProxy(proxy)
	}
	r.cached, r.key = client, key
	return client, secret, nil
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
	case status == http.StatusTooManyRequests:
		return receivers.Throttled(err, 0)
	case status >= 500, status == http.StatusRequestTimeout, code == "500",
		strings.HasPrefix(code, "ServiceUnavailable"), strings.HasPrefix(code, "InternalError"):
		return err
	case status >= 400, strings.HasPrefix(code, "4"):
		return receivers.Permanent(err)
	}
	return err
}

var (
	// queryString matches the query of a URL in an SDK message: it carries our key ID,
	// the signature and every event.
	queryString = regexp.MustCompile(`(https?://[^\s"?]*)\?[^\s"]*`)
	// credentialParams matches what identifies or signs us elsewhere, such as in the
	// string-to-sign that Aliyun quotes on SignatureDoesNotMatch (k%3Dv).
	credentialParams = regexp.MustCompile(`(?i)(AccessKeyId|Signature|SignatureNonce|SecurityToken)(=|%3D)[^&\s"']*`)
)

// scrub removes URL queries and credential parameters from an SDK message.
func scrub(s string) string {
	s = queryString.ReplaceAllString(s, "$1?<redacted>")
	return credentialParams.ReplaceAllString(s, "$1$2<redacted>")
}
