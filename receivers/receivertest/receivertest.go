// Package receivertest holds what every receiver's tests share: sample messages and the
// check that no secret leaks into an error or a log.
package receivertest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/alertrouter/alertrouter/receivers"
)

// StartsAt is the start of every sample alert: 08:00 UTC, 16:00 in Asia/Shanghai.
var StartsAt = time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)

// Message returns a notification of n alerts of one host group with the given status
// and severity.
func Message(n int, status, severity string) *receivers.Message {
	d := &template.Data{
		Receiver: "test", Status: status,
		GroupLabels:       template.KV{"hostgroup": "gpu-render-a"},
		CommonLabels:      template.KV{"alertname": "GPUTemperatureHigh", "hostgroup": "gpu-render-a", "severity": severity},
		CommonAnnotations: template.KV{},
		ExternalURL:       "http://alertmanager:9093",
	}
	for i := range n {
		a := template.Alert{
			Status: status,
			Labels: template.KV{"alertname": "GPUTemperatureHigh", "hostgroup": "gpu-render-a", "severity": severity,
				"instance": fmt.Sprintf("gpu-node-%02d:9400", i+1)},
			Annotations: template.KV{
				"summary":     fmt.Sprintf("GPU 0 on gpu-node-%02d is at 87°C", i+1),
				"description": "Above 80°C for 5 minutes.",
			},
			StartsAt:     StartsAt,
			GeneratorURL: "http://prometheus:9090/graph",
			Fingerprint:  fmt.Sprintf("%016x", i+1),
		}
		if status == "resolved" {
			a.EndsAt = StartsAt.Add(time.Hour)
		}
		d.Alerts = append(d.Alerts, a)
	}
	return &receivers.Message{ID: 7, Receiver: "test", Route: "routes[0]", Hostgroup: "gpu-render-a", Data: d}
}

// NoSecrets fails the test when text (an error, a log) contains any of the secrets, or
// the last path segment of one that is a URL (webhook URLs carry their token there).
func NoSecrets(t *testing.T, where, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		needles := []string{s}
		if i := strings.LastIndex(s, "/"); strings.Contains(s, "://") && i >= 0 && i+1 < len(s) {
			needles = append(needles, s[i+1:])
		}
		for _, n := range needles {
			if strings.Contains(text, n) {
				t.Errorf("%s leaks a secret (%q): %s", where, n, text)
			}
		}
	}
}

// Shanghai is the zone receiver tests render times in: the one our users in China set.
func Shanghai(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// Templates returns the default templates, showing times in Asia/Shanghai.
func Templates(t *testing.T) *receivers.Templates {
	t.Helper()
	tm, err := receivers.NewTemplates(nil, Shanghai(t))
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// Prepare validates a receiver config and checks its templates, as config loading does,
// and returns the templates to build the receiver with.
func Prepare(t *testing.T, conf interface {
	receivers.Config
	receivers.TemplateChecker
}) *receivers.Templates {
	t.Helper()
	if err := conf.Validate(); err != nil {
		t.Fatal(err)
	}
	tm := Templates(t)
	if err := conf.CheckTemplates(tm); err != nil {
		t.Fatal(err)
	}
	return tm
}

// IsFieldError reports whether err is what a config validation case wants: nil when
// field is empty, else a *receivers.FieldError about field.
func IsFieldError(err error, field string) bool {
	if field == "" {
		return err == nil
	}
	var fe *receivers.FieldError
	return errors.As(err, &fe) && fe.Field == field
}

// Echo starts a destination that refuses every request with an error page quoting it,
// as many servers do ("Cannot POST /hook/<token>?key=<key>", Express's 404): the request
// line first, then the Authorization header and the start of the body. A receiver's
// error must keep none of its secrets from that page.
func Echo(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 512))
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, "Cannot %s %s\nAuthorization: %s\n%s", r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), body)
	}))
	t.Cleanup(srv.Close)
	return srv
}
