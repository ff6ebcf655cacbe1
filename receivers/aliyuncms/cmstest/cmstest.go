// Package cmstest is for tests only: a fake Aliyun CloudMonitor (CMS) RPC endpoint for
// PutCustomEvent that checks the request signature the way Aliyun does, records the
// events it accepts, and answers what the test scripts.
package cmstest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alertrouter/alertrouter/receivers/receivertest"
)

// The only credentials the fake accepts.
const (
	// KeyID is the access key ID the fake knows.
	KeyID = "LTAI5tTestKeyId"
	// Secret is the access key secret requests must be signed with.
	Secret = "cms-s3cr3t-key"
)

// Fake is a PutCustomEvent endpoint. Its methods are safe to call while it serves.
type Fake struct {
	srv *httptest.Server

	mu       sync.Mutex
	answer   func(w http.ResponseWriter) // nil: success
	delay    time.Duration               // how long each request takes
	requests int
	uris     []string
	events   []map[string]string
	params   []url.Values
	throttle receivertest.Throttle
}

// New starts a fake, closed when the test ends.
func New(t testing.TB) *Fake {
	f := &Fake{}
	f.srv = receivertest.Serve(t, http.HandlerFunc(f.serve))
	return f
}

// NewTLS starts a fake over HTTPS with a certificate of its own (a private CA, see
// receivertest.CAFile), for a receiver with scheme https.
func NewTLS(t testing.TB) *Fake {
	f := &Fake{}
	f.srv = receivertest.ServeTLS(t, http.HandlerFunc(f.serve))
	return f
}

// Server is the fake's server, for receivertest.CAFile.
func (f *Fake) Server() *httptest.Server { return f.srv }

// Host is the fake's host:port, for a receiver's endpoint with scheme http: the CMS
// receiver takes an endpoint, not a URL.
func (f *Fake) Host() string { return f.srv.Listener.Addr().String() }

// Close stops the fake early, so that it refuses connections.
func (f *Fake) Close() { f.srv.Close() }

// SetAnswer scripts the answer to each valid request from now on; nil answers success
// and records the events. Scripted answers record nothing.
func (f *Fake) SetAnswer(answer func(w http.ResponseWriter)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = answer
}

// Throttle answers the next n valid requests as Aliyun's flow control does (HTTP 400,
// Code Throttling.User), recording none of their events; 0 stops throttling.
func (f *Fake) Throttle(n int) { f.throttle.Set(n, 0) }

// SetDelay makes every request take d, like a slow endpoint far away.
func (f *Fake) SetDelay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay = d
}

// Throttled is how many requests the fake has throttled so far.
func (f *Fake) Throttled() int { return f.throttle.Count() }

// Events returns a copy of the accepted events, in order, each with the keys GroupId,
// EventName, Time and Content.
func (f *Fake) Events() []map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]map[string]string, len(f.events))
	for i, ev := range f.events {
		out[i] = make(map[string]string, len(ev))
		for k, v := range ev {
			out[i][k] = v
		}
	}
	return out
}

// Params returns a copy of the parameters of each accepted request, in order.
func (f *Fake) Params() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]url.Values, len(f.params))
	for i, p := range f.params {
		out[i] = cloneValues(p)
	}
	return out
}

// RequestURIs returns the request URI (path and query) of every request received,
// accepted or not, in order.
func (f *Fake) RequestURIs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.uris...)
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func percentEncode(s string) string {
	s = url.QueryEscape(s)
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(s)
}

// Signature computes Aliyun's RPC signature: HMAC-SHA1 with secret over the canonical
// query of params (all but Signature).
func Signature(method string, params url.Values, secret string) string {
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

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	reqID := fmt.Sprintf("req-%d", f.requests)
	f.uris = append(f.uris, r.URL.RequestURI())
	delay := f.delay
	f.mu.Unlock()
	time.Sleep(delay)
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p := r.Form // query string and form body alike
	w.Header().Set("Content-Type", "application/json")
	fail := func(status int, code, msg string) {
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"Code":%q,"Message":%q,"RequestId":%q,"HostId":"metrics.cn-shanghai.aliyuncs.com"}`, code, msg, reqID)
	}
	switch {
	case p.Get("AccessKeyId") != KeyID:
		fail(http.StatusNotFound, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
		return
	case p.Get("Signature") != Signature(r.Method, p, Secret):
		fail(http.StatusBadRequest, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
		return
	case p.Get("Action") != "PutCustomEvent" || p.Get("Version") != "2019-01-01" || p.Get("SignatureMethod") != "HMAC-SHA1":
		fail(http.StatusBadRequest, "InvalidParameter", "unexpected action or version")
		return
	}
	if throttled, _ := f.throttle.Take(); throttled {
		fail(http.StatusBadRequest, "Throttling.User", "Request was denied due to user flow control.")
		return
	}
	f.mu.Lock()
	if answer := f.answer; answer != nil {
		f.mu.Unlock()
		answer(w)
		return
	}
	defer f.mu.Unlock()
	f.params = append(f.params, p)
	for i := 1; p.Get(fmt.Sprintf("EventInfo.%d.EventName", i)) != ""; i++ {
		ev := map[string]string{}
		for _, k := range []string{"GroupId", "EventName", "Time", "Content"} {
			ev[k] = p.Get(fmt.Sprintf("EventInfo.%d.%s", i, k))
		}
		f.events = append(f.events, ev)
	}
	fmt.Fprintf(w, `{"Code":"200","Message":"success","RequestId":%q}`, reqID)
}
