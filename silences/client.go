package silences

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/alertrouter/alertrouter/config"
	"github.com/alertrouter/alertrouter/receivers"
)

// Client speaks Alertmanager's API v2 for silences: create or update, read, expire. It is
// written on net/http: the generated client would bring go-openapi for three calls.
type Client struct {
	am     config.Alertmanager
	client *http.Client
}

// clientTimeout bounds one call to an Alertmanager.
const clientTimeout = 10 * time.Second

// NewClient is a client of am.
func NewClient(am config.Alertmanager) (*Client, error) {
	c, err := am.HTTPClientConfig.NewClient(clientTimeout)
	if err != nil {
		return nil, err
	}
	return &Client{am: am, client: c}, nil
}

// apiMatcher is a matcher as the API writes it.
type apiMatcher struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"isRegex"`
	IsEqual bool   `json:"isEqual"`
}

// apiSilence is a silence as the API reads and writes it.
type apiSilence struct {
	ID        string       `json:"id,omitempty"`
	Matchers  []apiMatcher `json:"matchers"`
	StartsAt  time.Time    `json:"startsAt"`
	EndsAt    time.Time    `json:"endsAt"`
	CreatedBy string       `json:"createdBy"`
	Comment   string       `json:"comment"`
	Status    *struct {
		State string `json:"state"`
	} `json:"status,omitempty"`
}

// ErrNotFound means the Alertmanager has no silence of that id: it never had it, or lost it
// (it restarted without its storage).
var ErrNotFound = errors.New("no such silence")

// Spec is what a silence says: which alerts, from when to when, who and why.
type Spec struct {
	Matchers           labels.Matchers
	StartsAt, EndsAt   time.Time
	CreatedBy, Comment string
}

// Put creates the silence s on the Alertmanager, or updates the one it holds as id, and
// returns its id there: Alertmanager keeps the id when only the end moves, and makes a
// new silence (expiring the old) when anything else changes.
func (c *Client) Put(ctx context.Context, id string, s Spec) (string, error) {
	body := apiSilence{ID: id, StartsAt: s.StartsAt.UTC(), EndsAt: s.EndsAt.UTC(), CreatedBy: s.CreatedBy, Comment: s.Comment}
	for _, m := range s.Matchers {
		body.Matchers = append(body.Matchers, apiMatcher{Name: m.Name, Value: m.Value,
			IsRegex: m.Type == labels.MatchRegexp || m.Type == labels.MatchNotRegexp,
			IsEqual: m.Type == labels.MatchEqual || m.Type == labels.MatchRegexp})
	}
	if body.Comment == "" {
		body.Comment = "-" // Alertmanager refuses an empty comment
	}
	b, err := json.Marshal(body)
	if err != nil {
		return "", err
	}
	var answer struct {
		SilenceID string `json:"silenceID"`
	}
	err = c.call(ctx, http.MethodPost, "/api/v2/silences", b, &answer)
	switch {
	case errors.Is(err, ErrNotFound) && id == "":
		// Not a silence it lost: no silences API there at all.
		return "", fmt.Errorf("alertmanager %s: 404 Not Found on /api/v2/silences: is url its base URL, with its --web.route-prefix?", c.am.Name)
	case err != nil:
		return "", err
	}
	if answer.SilenceID == "" {
		return "", errors.New("alertmanager answered without a silence id")
	}
	return answer.SilenceID, nil
}

// State is the state of silence id on the Alertmanager: active, pending or expired.
func (c *Client) State(ctx context.Context, id string) (string, error) {
	var s apiSilence
	if err := c.call(ctx, http.MethodGet, "/api/v2/silence/"+url.PathEscape(id), nil, &s); err != nil {
		return "", err
	}
	if s.Status == nil {
		return "", errors.New("alertmanager answered a silence without its state")
	}
	return s.Status.State, nil
}

// Expire ends silence id on the Alertmanager now; one it does not have is no error.
func (c *Client) Expire(ctx context.Context, id string) error {
	err := c.call(ctx, http.MethodDelete, "/api/v2/silence/"+url.PathEscape(id), nil, nil)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// call sends one request and decodes a 200's JSON into out (when not nil). Errors name
// the Alertmanager and the status, never its credentials.
func (c *Client) call(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.am.URL+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("alertmanager %s: %w", c.am.Name, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := c.authorize(req); err != nil {
		return err
	}
	secrets := c.secrets(req)
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("alertmanager %s: %w", c.am.Name, receivers.Scrub(err, secrets...))
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return ErrNotFound
	case resp.StatusCode != http.StatusOK:
		// A proxy in front may echo the request, credentials and all.
		excerpt := receivers.ScrubText(receivers.Excerpt(answer, 300), secrets...)
		return fmt.Errorf("alertmanager %s: %s: %s", c.am.Name, resp.Status, excerpt)
	case out == nil:
		return nil
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return fmt.Errorf("alertmanager %s: %s: not the API's answer: %w", c.am.Name, resp.Status, err)
	}
	return nil
}

func (c *Client) authorize(req *http.Request) error {
	if err := c.am.Credentials.Authorize(req); err != nil {
		return fmt.Errorf("alertmanager %s: %w", c.am.Name, err)
	}
	return nil
}

// secrets are what an error about req must not show: the proxy URL, and the credentials
// as req carries them (read from their files).
func (c *Client) secrets(req *http.Request) []string {
	return append(receivers.RequestSecrets(req), c.am.Secrets()...)
}
