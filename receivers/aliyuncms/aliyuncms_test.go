package aliyuncms

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/alertrouter/alertrouter/receivers"
	"github.com/alertrouter/alertrouter/receivers/receivertest"
)

const (
	testKeyID  = "LTAI5tTestKeyId"
	testSecret = "cms-s3cr3t-key"
)

// fakeCMS is Aliyun's RPC endpoint for PutCustomEvent: it checks the signature the way
// Aliyun does, records the events, and answers what the test scripts.
type fakeCMS struct {
	mu     sync.Mutex
	secret string
	answer func(w http.ResponseWriter) // nil: success
	events []map[string]string
	params []url.Values
	srv    *httptest.Server
}

func newFake(t *testing.T) *fakeCMS {
	f := &fakeCMS{secret: testSecret}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func percentEncode(s string) string {
	s = url.QueryEscape(s)
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(s)
}

// signature computes Aliyun's RPC signature (HMAC-SHA1 over the canonical query).
func signature(method string, params url.Values, secret string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = percentEncode(k) + "=" + percentEncode(params.Get(k))
	}
	toSign := method + "&" + percentEncode("/") + "&" + percentEncode(strings.Join(pairs, "&"))
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(toSign))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func (f *fakeCMS) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	p := r.Form // query string and form body alike
	w.Header().Set("Content-Type", "application/json")
	fail := func(status int, code, msg string) {
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"Code":%q,"Message":%q,"RequestId":"req-1","HostId":"metrics.cn-shanghai.aliyuncs.com"}`, code, msg)
	}
	switch {
	case p.Get("AccessKeyId") != testKeyID:
		fail(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
		return
	case p.Get("Signature") != signature(r.Method, p, f.secret):
		fail(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
		return
	case p.Get("Action") != "PutCustomEvent" || p.Get("Version") != "2019-01-01" || p.Get("SignatureMethod") != "HMAC-SHA1":
		fail(400, "InvalidParameter", "unexpected action or version")
		return
	}
	if f.answer != nil {
		f.answer(w)
		return
	}
	f.params = append(f.params, p)
	for i := 1; p.Get(fmt.Sprintf("EventInfo.%d.EventName", i)) != ""; i++ {
		ev := map[string]string{}
		for _, k := range []string{"GroupId", "EventName", "Time", "Content"} {
			ev[k] = p.Get(fmt.Sprintf("EventInfo.%d.%s", i, k))
		}
		f.events = append(f.events, ev)
	}
	fmt.Fprint(w, `{"Code":"200","Message":"success","RequestId":"req-1"}`)
}

func (f *fakeCMS) config() Config {
	u, _ := url.Parse(f.srv.URL)
	return Config{RegionID: "cn-shanghai", GroupID: "8040924", AccessKeyID: testKeyID, AccessKeySecret: testSecret,
		Endpoint: u.Host, Scheme: "http"}
}

func newReceiver(t *testing.T, c Config) *Receiver {
	t.Helper()
	return New(&c, receivertest.Prepare(t, &c), receivertest.Shanghai(t))
}

func TestPutsOneSignedEventPerAlert(t *testing.T) {
	f := newFake(t)
	r := newReceiver(t, f.config())
	m := receivertest.Message(2, "firing", "critical")
	m.Data.Alerts[1].Labels["severity"] = "page-me" // unknown: warning
	if err := r.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if len(f.params) != 1 || len(f.events) != 2 {
		t.Fatalf("%d requests with %d events, want 1 with 2", len(f.params), len(f.events))
	}
	want := []map[string]string{
		{"GroupId": "8040924", "EventName": "critical_prometheus", "Time": "20261121T160000.000+0800",
			"Content": "[FIRING] GPUTemperatureHigh on gpu-node-01:9400: GPU 0 on gpu-node-01 is at 87°C (since 2026-11-21 16:00:00 CST) [gpu-render-a]"},
		{"GroupId": "8040924", "EventName": "warn_prometheus", "Time": "20261121T160000.000+0800",
			"Content": "[FIRING] GPUTemperatureHigh on gpu-node-02:9400: GPU 0 on gpu-node-02 is at 87°C (since 2026-11-21 16:00:00 CST) [gpu-render-a]"},
	}
	for i := range want {
		for k, v := range want[i] {
			if f.events[i][k] != v {
				t.Errorf("event %d %s = %q, want %q", i, k, f.events[i][k], v)
			}
		}
	}
	if f.params[0].Get("RegionId") != "cn-shanghai" {
		t.Errorf("RegionId = %q", f.params[0].Get("RegionId"))
	}
}

func TestResolvedIsAnInfoEvent(t *testing.T) {
	f := newFake(t)
	c := f.config()
	c.EventNames = map[string]string{"info": "recovered_prometheus"}
	if err := newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "resolved", "critical")); err != nil {
		t.Fatal(err)
	}
	if ev := f.events[0]; ev["EventName"] != "recovered_prometheus" || !strings.HasPrefix(ev["Content"], "[RESOLVED] ") {
		t.Fatalf("event = %v", ev)
	}
}

// Events travel in the query string: requests stay short enough for API gateways.
func TestManyAlertsAreSplitAcrossShortRequests(t *testing.T) {
	f := newFake(t)
	var urls []int
	inner := f.srv.Config.Handler
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		urls = append(urls, len(r.URL.RequestURI()))
		inner.ServeHTTP(w, r)
	})
	m := receivertest.Message(120, "firing", "warning")
	for i := range m.Data.Alerts {
		m.Data.Alerts[i].Annotations["summary"] = strings.Repeat("显卡温度过高", 60) // ~1 KiB of UTF-8
	}
	r := newReceiver(t, f.config())
	if err := r.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if len(f.events) != 120 || len(f.params) < 3 {
		t.Fatalf("%d requests, %d events", len(f.params), len(f.events))
	}
	for _, n := range urls {
		if n > 8<<10 {
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
	f := newFake(t)
	answer := func(status int, body string) func(w http.ResponseWriter) {
		return func(w http.ResponseWriter) { w.WriteHeader(status); fmt.Fprint(w, body) }
	}
	tests := []struct {
		name      string
		conf      func(*Config)
		answer    func(w http.ResponseWriter)
		permanent bool
		throttled bool
	}{
		{"throttling", nil, answer(400, `{"Code":"Throttling.User","Message":"Request was denied due to user flow control.","RequestId":"r"}`), false, true},
		{"server error", nil, answer(503, `{"Code":"ServiceUnavailable","Message":"busy","RequestId":"r"}`), false, false},
		{"200 with failure code", nil, answer(200, `{"Code":"500","Message":"internal error","RequestId":"r"}`), false, false},
		{"200 with client code", nil, answer(200, `{"Code":"400","Message":"bad group","RequestId":"r"}`), true, false},
		{"bare 429", nil, answer(429, `Too Many Requests`), false, true},
		{"signature mismatch quoting the string to sign", nil, answer(400, `{"Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation. server string to sign is:POST&%2F&AccessKeyId%3DLTAI5tTestKeyId%26Action%3DPutCustomEvent","RequestId":"r"}`), true, false},
		{"wrong secret", func(c *Config) { c.AccessKeySecret = "wrong-s3cr3t" }, nil, true, false},
		{"unknown key", func(c *Config) { c.AccessKeyID = "LTAInope" }, nil, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.mu.Lock()
			f.answer = tt.answer
			f.mu.Unlock()
			c := f.config()
			if tt.conf != nil {
				tt.conf(&c)
			}
			err := newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "firing", "critical"))
			var th *receivers.ThrottledError
			if err == nil || receivers.IsPermanent(err) != tt.permanent || errors.As(err, &th) != tt.throttled {
				t.Fatalf("err = %v (permanent %v, throttled %v)", err, receivers.IsPermanent(err), th != nil)
			}
			receivertest.NoSecrets(t, "error", err.Error(), testSecret, "wrong-s3cr3t", testKeyID)
		})
	}
}

func TestUnreachableEndpointLeaksNoSecret(t *testing.T) {
	f := newFake(t)
	c := f.config()
	f.srv.Close()
	err := newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "firing", "critical"))
	if err == nil || receivers.IsPermanent(err) {
		t.Fatalf("unreachable: %v, want retryable", err)
	}
	receivertest.NoSecrets(t, "error", err.Error(), testSecret, "Signature=", testKeyID)
}

func TestCredentialsFromFileAndEnvironment(t *testing.T) {
	f := newFake(t)
	file := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(file, []byte(testSecret+"\n"), 0o600)
	c := f.config()
	c.AccessKeySecret, c.AccessKeySecretFile = "", file
	if err := newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "firing", "info")); err != nil {
		t.Fatalf("secret file: %v", err)
	}
	t.Setenv(EnvAccessKeyID, testKeyID)
	t.Setenv(EnvAccessKeySecret, testSecret)
	c = f.config()
	c.AccessKeyID, c.AccessKeySecret = "", ""
	if err := newReceiver(t, c).Send(context.Background(), receivertest.Message(1, "firing", "info")); err != nil {
		t.Fatalf("environment: %v", err)
	}
	if len(f.events) != 2 || f.events[0]["EventName"] != "info_prometheus" {
		t.Fatalf("events = %v", f.events)
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
		err := c.Validate()
		var fe *receivers.FieldError
		if (tt.field == "") != (err == nil) || (err != nil && (!errors.As(err, &fe) || fe.Field != tt.field)) {
			t.Errorf("case %d: %v, want problem with %q", i, err, tt.field)
		}
	}
}
