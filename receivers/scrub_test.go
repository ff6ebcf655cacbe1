package receivers

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestScrubHidesEveryFormOfASecret(t *testing.T) {
	hook := "https://hooks.example.com/hook/p4thT0kenp4thT0ken?token=qu3ryT0ken&v=1"
	tests := []struct {
		name, text string
		secrets    []string
		want       string
	}{
		{"the URL", "post " + hook + ": refused", []string{hook}, "post <redacted>: refused"},
		{"an echoed path and query", "404: Cannot POST /hook/p4thT0kenp4thT0ken?token=qu3ryT0ken&v=1", []string{hook}, "404: Cannot POST <redacted>?<redacted>"},
		{"the token segment alone", "unknown hook p4thT0kenp4thT0ken", []string{hook}, "unknown hook <redacted>"},
		{"a query value alone", `{"error":"bad token qu3ryT0ken"}`, []string{hook}, `{"error":"bad token <redacted>"}`},
		{"escaped", "url=" + url.QueryEscape(hook), []string{hook}, "url=<redacted>"},
		{"JSON slashes", `{"url":"` + strings.ReplaceAll(hook, "/", `\/`) + `"}`, []string{hook}, `{"url":"<redacted>"}`},
		{"short query values stay", "status code 401, v=1", []string{hook}, "status code 401, v=1"},
		{"a bearer token", "Authorization: Bearer b3arer-t0ken", []string{"b3arer-t0ken"}, "Authorization: Bearer <redacted>"},
		{"a password in a URL", "dial smtp://u:s3cr3tpw@host", []string{"smtp://u:s3cr3tpw@host"}, "dial <redacted>"},
		{"a URL's password as net/http sends it", "Authorization: Basic YWxlcnQ6UzNjcmV0UGFzc3cwcmQ=", []string{"https://alert:S3cretPassw0rd@hooks.example.com/hook"}, "Authorization: Basic <redacted>"},
		{"nothing secret", "unexpected status code 500", []string{"", hook}, "unexpected status code 500"},
		{"a token cut where an excerpt ends", "404: <pre>Cannot POST /hook/p4thT0k…</pre>", []string{hook}, "404: <pre>Cannot POST <redacted>…</pre>"},
		{"a token cut in a robot's message", "dingtalk answered code 1 (bad token qu3ry…): check the token", []string{hook}, "dingtalk answered code 1 (bad token <redacted>…): check the token"},
		{"the start of a token too short to tell", "404: Cannot POST b3a…", []string{"b3arer-t0ken"}, "404: Cannot POST b3a…"},
	}
	for _, tt := range tests {
		if got := ScrubText(tt.text, tt.secrets...); got != tt.want {
			t.Errorf("%s: ScrubText(%q) = %q, want %q", tt.name, tt.text, got, tt.want)
		}
	}
}

func TestScrubKeepsTheErrorsClass(t *testing.T) {
	base := Throttled(Permanent(errors.New("Cannot POST /x/t0ken-t0ken-t0ken-1")), 0)
	err := Scrub(base, "https://h/x/t0ken-t0ken-t0ken-1")
	if strings.Contains(err.Error(), "t0ken") || !IsPermanent(err) {
		t.Fatalf("scrubbed %q, permanent %v", err, IsPermanent(err))
	}
	var th *ThrottledError
	if !errors.As(err, &th) {
		t.Fatal("Throttled lost")
	}
	if Scrub(nil, "x") != nil {
		t.Fatal("Scrub(nil) is not nil")
	}
	plain := errors.New("no secret here")
	if Scrub(plain, "s3cr3t") != plain {
		t.Fatal("an error without secrets is rewrapped")
	}
}
