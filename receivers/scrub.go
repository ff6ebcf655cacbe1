package receivers

import (
	"cmp"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The shortest parts of a secret URL that Scrub hides on their own: shorter query values
// ("1", "v2") and path segments ("services", "open-apis") would mangle messages and are
// not what makes a URL secret. Tokens are longer.
const (
	minSecretQueryValue = 6
	minSecretSegment    = 16
)

// Scrub hides every form of the secrets in err's text: destinations echo requests in their
// error pages ("Cannot POST /hook/<token>?key=<key>"), and an error's text is stored, logged
// and shown by send-test. A secret that is a URL is hidden whole, and so are its path, its
// path segments and query values that look like tokens, raw and escaped. The error keeps
// its chain, so errors.Is and errors.As (Permanent, Throttled...) still see what it wraps.
func Scrub(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	scrubbed := ScrubText(msg, secrets...)
	if scrubbed == msg {
		return err
	}
	return &redactedError{msg: scrubbed, err: err}
}

// ScrubText is Scrub for a string.
func ScrubText(s string, secrets ...string) string {
	var needles []string
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		needles = append(needles, forms(secret)...)
		for _, part := range urlParts(secret) {
			needles = append(needles, forms(part)...)
		}
	}
	// Longest first, so that a URL is hidden whole before its parts are looked for.
	slices.SortFunc(needles, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	needles = slices.Compact(needles)
	for _, n := range needles {
		s = strings.ReplaceAll(s, n, redactedURL)
	}
	return hideCutSecrets(s, needles)
}

// minCutSecret is the shortest start of a secret that hideCutSecrets hides.
const minCutSecret = 4

// hideCutSecrets hides the start of a secret where an excerpt was cut (before an
// ellipsis, which TruncateBytes and the excerpts of answers end with): the excerpt is cut
// before its error is scrubbed, and a secret cut in two is no longer found whole.
func hideCutSecrets(s string, needles []string) string {
	var out strings.Builder
	for {
		i := strings.Index(s, ellipsis)
		if i < 0 {
			out.WriteString(s)
			return out.String()
		}
		before := s[:i]
		for _, n := range needles {
			if cut := longestCut(before, n); cut >= minCutSecret {
				before = before[:len(before)-cut] + redactedURL
				break
			}
		}
		out.WriteString(before + ellipsis)
		s = s[i+len(ellipsis):]
	}
}

// longestCut is the length of the longest start of secret (shorter than secret) that text
// ends with.
func longestCut(text, secret string) int {
	for n := min(len(secret)-1, len(text)); n > 0; n-- {
		if strings.HasSuffix(text, secret[:n]) {
			return n
		}
	}
	return 0
}

// forms are the ways a secret appears in text: raw, URL-escaped, quoted (%q), and with
// JSON's escaped slashes.
func forms(s string) []string {
	quoted := strconv.Quote(s)
	out := []string{s, url.QueryEscape(s), url.PathEscape(s), quoted[1 : len(quoted)-1], strings.ReplaceAll(s, "/", `\/`)}
	return slices.DeleteFunc(out, func(f string) bool { return f == "" })
}

// urlParts are the parts of a secret URL that carry its token: the path, long path
// segments, the raw query and long query values.
func urlParts(s string) []string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil
	}
	var parts []string
	if len(u.Path) > 1 {
		parts = append(parts, u.Path)
		if u.RawPath != "" {
			parts = append(parts, u.RawPath)
		}
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if len(seg) >= minSecretSegment {
			parts = append(parts, seg)
		}
	}
	if u.RawQuery != "" {
		parts = append(parts, u.RawQuery)
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			if len(v) >= minSecretQueryValue {
				parts = append(parts, v)
			}
		}
	}
	if u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			// net/http sends them as basic auth, which an echo of the request shows.
			parts = append(parts, p, base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+p)))
		}
	}
	return parts
}

// RequestSecrets are the credentials req carries, in every form an echo of it may show
// them: the Authorization header whole and its credentials part (a token, or basic
// auth's base64), the basic-auth password decoded, and a password in its URL. For the
// answers of servers and proxies that repeat the request in their error pages.
func RequestSecrets(req *http.Request) []string {
	var out []string
	if v := req.Header.Get("Authorization"); v != "" {
		out = append(out, v)
		if _, cred, ok := strings.Cut(v, " "); ok {
			out = append(out, cred)
		}
	}
	if _, password, ok := req.BasicAuth(); ok {
		out = append(out, password)
	}
	if password, ok := req.URL.User.Password(); ok {
		out = append(out, password)
	}
	return out
}

// URLWithoutPassword shows a URL with its password, if any, replaced by xxxxx: for URLs
// that carry their credentials (a watchdog target's), wherever they are shown.
func URLWithoutPassword(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}
