package receivers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPostCheckedClassifiesAnswers(t *testing.T) {
	tests := []struct {
		code       int
		header     map[string]string
		permanent  bool
		throttled  bool
		retryAfter time.Duration
		ok         bool
	}{
		{code: 200, ok: true},
		{code: 204, ok: true},
		{code: 500},
		{code: 502},
		{code: 408},
		{code: 429, throttled: true},
		{code: 429, header: map[string]string{"Retry-After": "7"}, throttled: true, retryAfter: 7 * time.Second},
		{code: 400, permanent: true},
		{code: 401, permanent: true},
		{code: 404, permanent: true},
		{code: 307, header: map[string]string{"Location": "/elsewhere"}, permanent: true},
	}
	for _, tt := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for k, v := range tt.header {
				w.Header().Set(k, v)
			}
			w.WriteHeader(tt.code)
			_, _ = w.Write([]byte("  the reason\n"))
		}))
		err := PostChecked(context.Background(), NewHTTPClient(5*time.Second), srv.URL, "application/json", []byte(`{}`), nil)
		srv.Close()
		if tt.ok {
			if err != nil {
				t.Errorf("%d: %v", tt.code, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%d: no error", tt.code)
			continue
		}
		if IsPermanent(err) != tt.permanent {
			t.Errorf("%d: permanent = %v", tt.code, IsPermanent(err))
		}
		var th *ThrottledError
		if errors.As(err, &th) != tt.throttled || (th != nil && th.RetryAfter != tt.retryAfter) {
			t.Errorf("%d: throttled = %+v", tt.code, th)
		}
		want := fmt.Sprintf("unexpected status code %d: the reason", tt.code)
		if tt.code == 307 {
			want = "unexpected status code 307 (redirects are not followed: configure the final URL): the reason"
		}
		if err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
	}
}

func TestPostCheckedSendsTokenAndHeaders(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	defer srv.Close()
	if err := PostChecked(context.Background(), srv.Client(), srv.URL, "application/json", []byte(`{}`), http.Header{"X-Id": {"7"}, "Authorization": {"Bearer tok"}}); err != nil {
		t.Fatal(err)
	}
	if got.Get("Authorization") != "Bearer tok" || got.Get("X-Id") != "7" || got.Get("Content-Type") != "application/json" || got.Get("User-Agent") != UserAgent {
		t.Fatalf("headers = %v", got)
	}
}

func TestPostCheckedRedactsURL(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/services/T0/B0/s3cr3t"
	srv.Close()
	err := PostChecked(context.Background(), http.DefaultClient, url, "application/json", []byte(`{}`), nil)
	if err == nil || strings.Contains(err.Error(), "s3cr3t") || IsPermanent(err) {
		t.Fatalf("error = %v, want a retryable error without the URL", err)
	}
	err = PostChecked(context.Background(), http.DefaultClient, "http://[::1]:namedport/s3cr3t", "application/json", nil, nil)
	if err == nil || strings.Contains(err.Error(), "s3cr3t") || !IsPermanent(err) {
		t.Fatalf("invalid URL error = %v", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":                              0,
		"30":                            30 * time.Second,
		" 5 ":                           5 * time.Second,
		"-1":                            0,
		"soon":                          0,
		"Sat, 21 Nov 2026 08:01:00 GMT": time.Minute,
		"Sat, 21 Nov 2026 07:59:00 GMT": 0,
		"86400":                         MaxRetryAfter,
		"9223372036854775807":           MaxRetryAfter,
		"Sun, 22 Nov 2026 08:00:00 GMT": MaxRetryAfter,
	}
	for in, want := range tests {
		if got := ParseRetryAfter(in, now); got != want {
			t.Errorf("ParseRetryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestReadSecret(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "s")
	if got, err := ReadSecret("inline", f); err != nil || got != "inline" {
		t.Fatalf("inline: %q %v", got, err)
	}
	if _, err := ReadSecret("", f); err == nil {
		t.Fatal("missing file: no error")
	}
	for _, content := range []string{"one\n", "two"} {
		if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		// Re-read on every call: a rotated secret takes effect at once.
		if got, err := ReadSecret("", f); err != nil || got != strings.TrimSpace(content) {
			t.Fatalf("file: %q %v", got, err)
		}
	}
	if err := os.WriteFile(f, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSecret("", f); err == nil || !strings.Contains(err.Error(), "file is empty") {
		t.Fatalf("empty file: %v", err)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("hunter2")
	b, _ := s.MarshalJSON()
	y, _ := s.MarshalYAML()
	for _, out := range []string{s.String(), string(b), y.(string)} {
		if strings.Contains(out, "hunter2") {
			t.Fatalf("secret printed: %s", out)
		}
	}
}

func TestRedactURLCoversQuotedURLs(t *testing.T) {
	_, err := http.NewRequest(http.MethodPost, "https://hooks.example.com/T0/s3cr3t\n", nil)
	red := RedactURL(fmt.Errorf("failed new request: %w", err))
	if strings.Contains(red.Error(), "s3cr3t") {
		t.Fatalf("quoted URL not redacted: %v", red)
	}
}
