package receivers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// UserAgent is sent with every HTTP request to a destination.
var UserAgent = "alertrouter"

// RedactURL hides the URL of a *url.Error anywhere in err's chain: for many destinations
// the URL itself is the credential (Slack webhooks, tokens in query strings). Wrappers
// have often formatted the URL into their own message already, so the whole message is
// rewritten; the chain stays available to errors.Is and errors.As.
func RedactURL(err error) error {
	var e *url.Error
	if !errors.As(err, &e) || e.URL == redactedURL {
		return err
	}
	// Parse errors quote the URL (%q), so its escaped form is redacted as well.
	quoted := strconv.Quote(e.URL)
	msg := strings.NewReplacer(e.URL, redactedURL, quoted[1:len(quoted)-1], redactedURL).Replace(err.Error())
	e.URL = redactedURL
	return &redactedError{msg: msg, err: err}
}

const redactedURL = "<redacted>"

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// CheckURL accepts an absolute http(s) URL. Its errors never quote the URL: for many
// destinations the URL is the credential.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("scheme must be http or https")
	}
	if u.Host == "" {
		return errors.New("host is missing")
	}
	return nil
}

// PostChecked posts body with the content type and extra headers, and turns the answer
// into an error classified for the dispatcher (see CheckResponse).
func PostChecked(ctx context.Context, client *http.Client, rawURL, contentType string, body []byte, header http.Header) error {
	resp, err := Post(ctx, client, rawURL, contentType, body, header)
	if err != nil {
		return err
	}
	defer drain(resp)
	return CheckResponse(resp)
}

// PostForAnswer posts a JSON body and returns the answer's body (its first MaxAnswer
// bytes) when the status is 2xx; other statuses are classified as by CheckResponse. It is
// for destinations that say in the body whether they took the message: the China IM
// robots answer 200 with an error code.
func PostForAnswer(ctx context.Context, client *http.Client, rawURL string, body []byte, header http.Header) ([]byte, error) {
	resp, err := Post(ctx, client, rawURL, "application/json", body, header)
	if err != nil {
		return nil, err
	}
	defer drain(resp)
	if err := CheckResponse(resp); err != nil {
		return nil, err
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer))
	if err != nil {
		return nil, RedactURL(fmt.Errorf("read the answer: %w", err))
	}
	return answer, nil
}

// MaxAnswer bounds how much of an answer PostForAnswer reads.
const MaxAnswer = 1 << 16

// Post sends body with the content type and extra headers. Its errors never quote the
// URL; the caller closes the answer's body.
func Post(ctx context.Context, client *http.Client, rawURL, contentType string, body []byte, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		// The parse error quotes the URL: say only that it is invalid.
		return nil, Permanent(errors.New("invalid destination URL"))
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", UserAgent)
	resp, err := client.Do(req)
	if err != nil {
		return nil, RedactURL(err)
	}
	return resp, nil
}

// drain reads what is left of an answer (a little of it) and closes it, so that the
// connection can be reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxAnswer))
	resp.Body.Close()
}

// CheckResponse classifies an HTTP answer: 2xx is success; 429 is Throttled (honouring
// Retry-After); 5xx and 408 are worth retrying; any other status is Permanent. The error
// quotes the start of the body, which is where destinations explain themselves.
func CheckResponse(resp *http.Response) error {
	if resp.StatusCode/100 == 2 {
		return nil
	}
	msg := fmt.Sprintf("unexpected status code %d", resp.StatusCode)
	if resp.StatusCode/100 == 3 {
		msg += " (redirects are not followed: configure the final URL)"
	}
	if detail := readDetail(resp.Body); detail != "" {
		msg += ": " + detail
	}
	err := errors.New(msg)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return Throttled(err, ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()))
	case resp.StatusCode/100 == 5, resp.StatusCode == http.StatusRequestTimeout:
		return err
	default:
		return Permanent(err)
	}
}

// readDetail is the start of an answer's body, at most maxDetail bytes (Excerpt).
func readDetail(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, maxDetail+1))
	return Excerpt(b, maxDetail)
}

// Excerpt is the start of an answer, at most limit bytes, for an error to quote: trimmed,
// valid UTF-8, and ending with an ellipsis where it was cut, which Scrub looks for (the
// excerpt is cut before its error is scrubbed, and a secret may have been cut in two).
func Excerpt(answer []byte, limit int) string {
	return TruncateBytes(strings.TrimSpace(strings.ToValidUTF8(string(answer), "")), limit)
}

// maxDetail bounds the excerpt of an answer that an error quotes.
const maxDetail = 256

// MaxRetryAfter caps the wait a destination can ask for, so that a bogus Retry-After
// cannot silence a receiver for days.
const MaxRetryAfter = time.Hour

// CapRetryAfter bounds a wait a destination asked for (see MaxRetryAfter).
func CapRetryAfter(d time.Duration) time.Duration { return min(max(d, 0), MaxRetryAfter) }

// ParseRetryAfter reads a Retry-After header, in seconds or as an HTTP date, capped at
// MaxRetryAfter; 0 when absent or invalid.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && s >= 0 {
		// Capped in seconds first: a huge value would overflow time.Duration.
		return CapRetryAfter(time.Duration(min(s, int64(MaxRetryAfter/time.Second))) * time.Second)
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return CapRetryAfter(t.Sub(now))
	}
	return 0
}

// NewHTTPClient is the client for destinations: bounded by timeout, and not following
// redirects. A redirected POST comes back as a GET without its body (a "delivery" that
// delivered nothing), and the redirect would carry the secret URL in its Referer; so a
// 3xx is an error that names the problem.
func NewHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
