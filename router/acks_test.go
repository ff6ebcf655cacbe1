package router

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alertrouter/alertrouter/dispatch"
	"github.com/alertrouter/alertrouter/store"
)

// ackConfig sends every alert to two receivers, repeating after an hour.
const ackConfig = `global:
  repeat_interval: 1h
receivers:
  - name: ops
    log: {}
  - name: pager
    log: {}
default_receivers: [ops, pager]
`

// fingerprintOf is the fingerprint of the first alert of notification n.
func fingerprintOf(t *testing.T, n store.Notification) string {
	t.Helper()
	msg, err := dispatch.Decode(&n)
	if err != nil {
		t.Fatal(err)
	}
	return msg.Data.Alerts[0].Fingerprint
}

// newest are the notifications made since the count had n of them, by receiver.
func newest(e *env, n int) map[string]store.Notification {
	all := e.list("")
	out := map[string]store.Notification{}
	for _, x := range all[:len(all)-n] {
		out[x.Receiver] = x
	}
	return out
}

// An acknowledged episode is repeated at no receiver; its resolution still goes to both,
// and names who had it; the next episode pages again; the acknowledgement survives a
// restart.
func TestAcknowledgementStopsRepeats(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, ackConfig, dir, false)
	gpu := alert{name: "GPUDown", hostgroup: "gpu-1", instance: "i1"}
	e.mustPost(payload("am1", gpu))
	if n := len(e.list("")); n != 2 {
		t.Fatalf("%d notifications, want one per receiver", n)
	}
	fp := fingerprintOf(t, e.list("")[0])

	// Not acknowledged: after repeat_interval it repeats at both.
	e.clock.Add(61 * time.Minute)
	e.mustPost(payload("am1", gpu))
	if n := len(e.list("")); n != 4 {
		t.Fatalf("%d notifications after repeat_interval, want 4", n)
	}

	r := e.do(http.MethodPost, "/api/v1/alerts/"+fp+"/ack", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"author": {"alice"}, "comment": {"on it"}}.Encode()), nil)
	if r.Code != http.StatusOK || !strings.Contains(r.Raw, `"author":"alice"`) || !strings.Contains(r.Raw, `"comment":"on it"`) {
		t.Fatalf("ack: %d %s", r.Code, r.Raw)
	}
	if r := e.do(http.MethodPost, "/api/v1/alerts/"+fp+"/ack", "application/x-www-form-urlencoded",
		strings.NewReader("author=bob"), nil); r.Code != http.StatusOK || !strings.Contains(r.Raw, `"author":"alice"`) || !strings.Contains(r.Raw, `"earlier":true`) {
		t.Fatalf("a second ack: %d %s, want alice's kept", r.Code, r.Raw)
	}

	// Across a restart, no receiver gets it again.
	e.Close()
	e = newEnv(t, ackConfig, dir, false)
	e.clock.Add(3 * time.Hour)
	e.mustPost(payload("am1", gpu))
	if n := len(e.list("")); n != 4 {
		t.Fatalf("%d notifications after the ack, want still 4", n)
	}
	if got := e.counter("alertrouter_alerts_suppressed_total", "reason", suppressAcknowledged); got != 2 {
		t.Errorf("suppressed as acknowledged: %v, want 2 (one a receiver)", got)
	}
	// The repeat's timeline says the copy was dropped, and whose acknowledgement it was.
	repeat := e.list("")[0]
	if r := e.do(http.MethodGet, "/api/v1/notifications/"+strconv.FormatInt(repeat.ID, 10), "", nil, nil); !strings.Contains(r.Raw, `"reason":"acknowledged","ackedBy":"alice at `) {
		t.Errorf("the timeline of %d does not name the acknowledgement: %s", repeat.ID, r.Raw)
	}

	// The resolution reaches both, and says who had it.
	resolved := gpu
	resolved.status = "resolved"
	e.mustPost(payload("am1", resolved))
	ends := newest(e, 4)
	if len(ends) != 2 {
		t.Fatalf("resolutions: %d, want one per receiver", len(ends))
	}
	for receiver, n := range ends {
		msg, err := dispatch.Decode(&n)
		if err != nil {
			t.Fatal(err)
		}
		if got := msg.Data.Alerts[0].Annotations[dispatch.AckAnnotation]; msg.Data.Status != "resolved" || !strings.HasPrefix(got, "alice at ") || !strings.HasSuffix(got, "(on it)") {
			t.Errorf("%s's resolution: %s, %s=%q", receiver, msg.Data.Status, dispatch.AckAnnotation, got)
		}
	}

	// The next episode pages again.
	e.clock.Add(time.Minute)
	again := gpu
	again.startsAt = e.clock.Now()
	e.mustPost(payload("am1", again))
	if n := len(e.list("")); n != 8 {
		t.Fatalf("%d notifications after a new episode, want 8", n)
	}
	if r := e.do(http.MethodPost, "/api/v1/alerts/0123456789abcdef/ack", "", nil, nil); r.Code != http.StatusNotFound {
		t.Errorf("ack of an alert that never fired: %d %s", r.Code, r.Raw)
	}
}

// Matchers acknowledge every firing alert they select, and no other; the console's
// button acknowledges one, and its page shows who.
func TestAcknowledgeByMatchersAndFromTheConsole(t *testing.T) {
	e := newEnv(t, ackConfig, "", false)
	e.mustPost(payload("am1", alert{name: "GPUDown", hostgroup: "gpu-1", instance: "i1"}, alert{name: "GPUDown", hostgroup: "gpu-1", instance: "i2"},
		alert{name: "NginxDown", hostgroup: "edge", instance: "n1"}))
	r := e.do(http.MethodPost, "/api/v1/acks", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"match": {`alertname="GPUDown"`}, "author": {"bob"}}.Encode()), nil)
	if r.Code != http.StatusOK || strings.Count(r.Raw, `"alertname":"GPUDown"`) != 2 || strings.Contains(r.Raw, "NginxDown") {
		t.Fatalf("ack by matchers: %d %s", r.Code, r.Raw)
	}
	if r := e.do(http.MethodPost, "/api/v1/acks", "", nil, nil); r.Code != http.StatusBadRequest {
		t.Errorf("ack of nothing named: %d", r.Code)
	}
	var nginx string
	for _, n := range e.list("") {
		if n.AlertNames[0] == "NginxDown" {
			nginx = fingerprintOf(t, n)
		}
	}
	claims, err := e.store.AlertClaims(context.Background(), nginx)
	if err != nil || len(claims) != 2 || claims[0].Ack != nil {
		t.Fatalf("NginxDown's claims %+v, %v: want unacknowledged", claims, err)
	}
	b := newBrowser(t, e.http.URL)
	b.pageHas(t, "/alerts/"+nginx, http.StatusOK, `id="ack"`)
	resp, _ := b.post("/alerts/"+nginx+"/ack", url.Values{"comment": {"rebooting"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the button: %d", resp.StatusCode)
	}
	b.pageHas(t, resp.Header.Get("Location"), http.StatusOK, "Acknowledged.", "anonymous at ", ": rebooting")
	b.pageHas(t, "/audit", http.StatusOK, "alert.acknowledge", nginx+" (console)")
}
