package aliyuncms

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/receivers/aliyuncms/cmstest"
	"github.com/alertrouter/alertrouter/receivers/receivertest"
)

func config(f *cmstest.Fake) Config {
	return Config{RegionID: "cn-shanghai", GroupID: "8040924", AccessKeyID: cmstest.KeyID, AccessKeySecret: cmstest.Secret,
		Endpoint: f.Host(), Scheme: "http"}
}

func newReceiver(t *testing.T, c Config) *Receiver {
	t.Helper()
	return New(&c, receivertest.Prepare(t, &c), receivertest.Shanghai(t))
}

func TestPutsOneSignedEventPerAlert(t *testing.T) {
	f := cmstest.New(t)
	r := newReceiver(t, config(f))
	m := receivertest.Message(2, "firing", "critical")
	m.Data.Alerts[1].Labels["severity"] = "page-me" // unknown: warning
	if err := r.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	params, events := f.Params(), f.Events()
	if len(params) != 1 || len(events) != 2 {
		t.Fatalf("%d requests with %d events, want 1 with 2", len(params), len(events))
	}
	want := []map[string]string{
		{"GroupId": "8040924", "EventName": "critical_prometheus", "Time": "20261121T160000.000+0800",
			"Content": "[FIRING] GPUTemperatureHigh on gpu-node-01:9400: GPU 0 on gpu-node-01 is at 87°C (since 2026-11-21 16:00:00 CST) [gpu-render-a]"},
		{"GroupId": "8040924", "EventName": "warn_prometheus", "Time": "20261121T160000.000+0800",
			"Content": "[FIRING] GPUTemperatureHigh on gpu-node-02:9400: GPU 0 on gpu-node-02 is at 87°C (since 2026-11-21 16:00:00 CST) [gpu-render-a]"},
	}
	for i := range want {
		for k, v := range want[i] {
			if events[i][k] != v {
				t.Errorf("event %d %s = %q, want %q", i, k, events[i][k], v)
			}
		}
	}
	if params[0].Get("RegionId") != "cn-shanghai" {
		t.Errorf("RegionId = %q", params[0].Get("RegionId"))
	}
}

func TestResolvedIsAnInfoEvent(t *testing.T) {
	f := cmstest.New(t)
	c := config(f)
	c.EventNames = map[string]string{"info": "recovered_prometheus"}
	if err := newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "resolved", "critical")); err != nil {
		t.Fatal(err)
	}
	if ev := f.Events()[0]; ev["EventName"] != "recovered_prometheus" || !strings.HasPrefix(ev["Content"], "[RESOLVED] ") {
		t.Fatalf("event = %v", ev)
	}
}

// Events travel in the query string: requests stay short enough for API gateways.
func TestManyAlertsAreSplitAcrossShortRequests(t *testing.T) {
	f := cmstest.New(t)
	m := receivertest.Message(120, "firing", "warning")
	for i := range m.Data.Alerts {
		m.Data.Alerts[i].Annotations["summary"] = strings.Repeat("显卡温度过高", 60) // ~1 KiB of UTF-8
	}
	r := newReceiver(t, config(f))
	if err := r.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	params, events := f.Params(), f.Events()
	if len(events) != 120 || len(params) < 3 {
		t.Fatalf("%d requests, %d events", len(params), len(events))
	}
	uris := f.RequestURIs()
	if len(uris) != len(params) {
		t.Fatalf("%d requests seen, %d accepted", len(uris), len(params))
	}
	for _, uri := range uris {
		if n := len(uri); n > 8<<10 {
			t.Fatalf("a request URL of %d bytes: gateways answer 414", n)
		}
	}
	if err := r.Send(context.Background(), receivertest.Message(3, "firing", "warning")); err != nil {
		t.Fatal(err)
	}
	if r.cached == nil {
		t.Fatal("the SDK client is not kept")
	}
}

func TestErrorsAreClassified(t *testing.T) {
	f := cmstest.New(t)
	answer := func(status int, body string) func(w http.ResponseWriter) {
		return func(w http.ResponseWriter) { w.WriteHeader(status); fmt.Fprint(w, body) }
	}
	tests := []struct {
		name      string
		conf      func(*Config)
		answer    func(w http.ResponseWriter)
		throttle  int // requests the fake throttles (flow control)
		permanent bool
		throttled bool
	}{
		{"throttling", nil, nil, 1, false, true},
		{"server error", nil, answer(503, `{"Code":"ServiceUnavailable","Message":"busy","RequestId":"r"}`), 0, false, false},
		{"200 with failure code", nil, answer(200, `{"Code":"500","Message":"internal error","RequestId":"r"}`), 0, false, false},
		{"200 with client code", nil, answer(200, `{"Code":"400","Message":"bad group","RequestId":"r"}`), 0, true, false},
		{"bare 429", nil, answer(429, `Too Many Requests`), 0, false, true},
		{"signature mismatch quoting the string to sign", nil, answer(400, `{"Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation. server string to sign is:POST&%2F&AccessKeyId%3DLTAI5tTestKeyId%26Action%3DPutCustomEvent","RequestId":"r"}`), 0, true, false},
		{"wrong secret", func(c *Config) { c.AccessKeySecret = "wrong-s3cr3t" }, nil, 0, true, false},
		{"unknown key", func(c *Config) { c.AccessKeyID = "LTAInope" }, nil, 0, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.SetAnswer(tt.answer)
			f.Throttle(tt.throttle)
			c := config(f)
			if tt.conf != nil {
				tt.conf(&c)
			}
			err := newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "firing", "critical"))
			var th *receivers.ThrottledError
			if err == nil || receivers.IsPermanent(err) != tt.permanent || errors.As(err, &th) != tt.throttled {
				t.Fatalf("err = %v (permanent %v, throttled %v)", err, receivers.IsPermanent(err), th != nil)
			}
			receivertest.NoSecrets(t, "error", err.Error(), cmstest.Secret, "wrong-s3cr3t", cmstest.KeyID)
		})
	}
}

// Aliyun's flow control is throttling: the dispatcher waits, and the events are sent again.
func TestFlowControlIsThrottled(t *testing.T) {
	f := cmstest.New(t)
	f.Throttle(1)
	r := newReceiver(t, config(f))
	err := r.Send(context.Background(), receivertest.Message(1, "firing", "critical"))
	var th *receivers.ThrottledError
	if !errors.As(err, &th) || receivers.IsPermanent(err) || !strings.Contains(err.Error(), "Throttling.User") {
		t.Fatalf("err = %v, want throttled (Throttling.User)", err)
	}
	if f.Throttled() != 1 || len(f.Events()) != 0 {
		t.Fatalf("throttled %d, events %v: want 1 throttled and none accepted", f.Throttled(), f.Events())
	}
	if err := r.Send(context.Background(), receivertest.Message(1, "firing", "critical")); err != nil {
		t.Fatalf("after the throttling: %v", err)
	}
	if f.Throttled() != 1 || len(f.Events()) != 1 {
		t.Fatalf("throttled %d, %d events: want 1 and 1", f.Throttled(), len(f.Events()))
	}
}

func TestUnreachableEndpointLeaksNoSecret(t *testing.T) {
	f := cmstest.New(t)
	c := config(f)
	f.Close()
	err := newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "firing", "critical"))
	if err == nil || receivers.IsPermanent(err) {
		t.Fatalf("unreachable: %v, want retryable", err)
	}
	receivertest.NoSecrets(t, "error", err.Error(), cmstest.Secret, "Signature=", cmstest.KeyID)
}

func TestCredentialsFromFileAndEnvironment(t *testing.T) {
	f := cmstest.New(t)
	file := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(file, []byte(cmstest.Secret+"\n"), 0o600)
	c := config(f)
	c.AccessKeySecret, c.AccessKeySecretFile = "", file
	if err := newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "firing", "info")); err != nil {
		t.Fatalf("secret file: %v", err)
	}
	t.Setenv(EnvAccessKeyID, cmstest.KeyID)
	t.Setenv(EnvAccessKeySecret, cmstest.Secret)
	c = config(f)
	c.AccessKeyID, c.AccessKeySecret = "", ""
	if err := newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "firing", "info")); err != nil {
		t.Fatalf("environment: %v", err)
	}
	if events := f.Events(); len(events) != 2 || events[0]["EventName"] != "info_prometheus" {
		t.Fatalf("events = %v", events)
	}
}

func TestValidate(t *testing.T) {
	t.Setenv(EnvAccessKeyID, "")
	ok := Config{RegionID: "cn-shanghai", GroupID: "1", AccessKeyID: "id", AccessKeySecret: "s"}
	tests := []struct {
		mod   func(*Config)
		field string
	}{
		{func(*Config) {}, ""},
		{func(c *Config) { c.AccessKeyID, c.AccessKeySecret, c.RAMRoleName = "", "", "AlertRouterRole" }, ""},
		{func(c *Config) { c.RegionID = "" }, "region_id"},
		{func(c *Config) { c.GroupID = "" }, "group_id"},
		{func(c *Config) { c.RAMRoleName = "r" }, "ram_role_name"},
		{func(c *Config) { c.AccessKeySecretFile = "/f" }, "access_key_secret"},
		{func(c *Config) { c.AccessKeyID, c.AccessKeySecret = "", "" }, "access_key_id"},
		{func(c *Config) { c.EventNames = map[string]string{"fatal": "x"} }, "event_names"},
		{func(c *Config) { c.Scheme = "ftp" }, "scheme"},
		{func(c *Config) { c.RegionID = "cn shanghai" }, "region_id"},
		{func(c *Config) { c.Endpoint = "https://metrics.cn-shanghai.aliyuncs.com" }, "endpoint"},
		{func(c *Config) { c.Endpoint = "metrics-vpc.cn-shanghai.aliyuncs.com:443" }, ""},
	}
	for i, tt := range tests {
		c := ok
		tt.mod(&c)
		if err := c.Validate(); !receivertest.IsFieldError(err, tt.field) {
			t.Errorf("case %d: %v, want problem with %q", i, err, tt.field)
		}
	}
}

// An endpoint whose error page quotes the request (the query carries our key ID and the
// signature): none of it, and not the secret, survives into the error.
func TestEchoedRequestsLeakNoSecret(t *testing.T) {
	echo := receivertest.Echo(t)
	f := cmstest.New(t)
	c := config(f)
	c.Endpoint = strings.TrimPrefix(echo.URL, "http://")
	err := newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "firing", "critical"))
	if err == nil {
		t.Fatal("the echo server accepted the events")
	}
	receivertest.NoSecrets(t, "error", err.Error(), cmstest.Secret, cmstest.KeyID)
	if regexp.MustCompile(`Signature(Nonce)?=[^<]`).MatchString(err.Error()) {
		t.Errorf("error carries the request's signature: %v", err)
	}
}

// Like every HTTP receiver: through a proxy (teams in China reach cloud APIs through one),
// and to an endpoint behind a private CA.
func TestProxyAndPrivateCA(t *testing.T) {
	f := cmstest.New(t)
	proxy := receivertest.NewProxy(t)
	c := config(f)
	c.ProxyURL = receivers.Secret(proxy.URL())
	if err := newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "firing", "critical")); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	if hosts := proxy.Hosts(); len(hosts) != 1 || hosts[0] != f.Host() || len(f.Events()) != 1 {
		t.Fatalf("the proxy saw %v and the fake %d events, want %s and 1", hosts, len(f.Events()), f.Host())
	}

	tlsFake := cmstest.NewTLS(t)
	c = config(tlsFake)
	c.Scheme = "https"
	if err := newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "firing", "critical")); err == nil || receivers.IsPermanent(err) {
		t.Fatalf("a server of an unknown CA: %v, want a retryable refusal", err)
	}
	c.TLSConfig.CAFile = receivertest.CAFile(t, tlsFake.Server())
	if err := newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "firing", "critical")); err != nil || len(tlsFake.Events()) != 1 {
		t.Fatalf("with ca_file: %v, %d events", err, len(tlsFake.Events()))
	}
}

// A notification whose events take many requests, one of which CMS's flow control refuses:
// the retry sends only the requests CMS did not take, so every event is there once.
func TestRetrySendsOnlyTheRequestsNotTaken(t *testing.T) {
	f := cmstest.New(t)
	inner := f.Server().Config.Handler
	var requests atomic.Int32
	f.Server().Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 3 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"Code":"Throttling.User","Message":"Request was denied due to user flow control.","RequestId":"x"}`)
			return
		}
		inner.ServeHTTP(w, r)
	})
	m := receivertest.Message(120, "firing", "warning")
	for i := range m.Data.Alerts {
		m.Data.Alerts[i].Annotations["summary"] = strings.Repeat("显卡温度过高", 60) // about 1 KiB escaped: one event per request
	}
	r := newReceiver(t, config(f))
	var throttled *receivers.ThrottledError
	if err := r.Send(context.Background(), m); !errors.As(err, &throttled) {
		t.Fatalf("first attempt: %v, want throttled", err)
	}
	if got := len(f.Events()); got != 2 {
		t.Fatalf("after the first attempt CMS holds %d events, want the 2 before the refused request", got)
	}
	if err := r.Send(context.Background(), m); err != nil {
		t.Fatalf("retry: %v", err)
	}
	seen := map[string]int{}
	for _, e := range f.Events() {
		seen[e["Content"]]++
	}
	if len(f.Events()) != 120 || len(seen) != 120 {
		t.Errorf("CMS holds %d events, %d different, want each of the 120 alerts once", len(f.Events()), len(seen))
	}
}
