package router

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alertrouter/alertrouter/receivers/dingtalk/dingtalktest"
	"github.com/alertrouter/alertrouter/silences/silencestest"
	"github.com/alertrouter/alertrouter/store"
)

// linkConfig has a DingTalk robot for every alert, the console at an external URL, an
// Alertmanager, and logins (extra is appended to web:).
func linkConfig(t *testing.T, robot, am, extra string) string {
	return strings.Replace(dingtalkConfig(robot, ""), "default_receivers:", `alertmanagers:
  - {name: am, url: '`+am+`'}
default_receivers:`, 1) + strings.TrimPrefix(authConfig(t, extra), logConfig) + "  external_url: http://alerts.example.com/\n"
}

var actLink = regexp.MustCompile(`\[(认领|静默1小时|静默4小时)\]\(http://alerts\.example\.com/act/([A-Za-z0-9_-]+)\)`)

// linksIn are the action links of the robot's messages, by action, the newest last.
func linksIn(robot *dingtalktest.Fake) map[string][]string {
	out := map[string][]string{}
	for _, m := range robot.Messages() {
		for _, l := range actLink.FindAllStringSubmatch(m.Content(), -1) {
			out[l[1]] = append(out[l[1]], "/act/"+l[2])
		}
	}
	return out
}

// A robot's message carries signed links: followed by a logged-in operator, one
// acknowledges (and says so in the robot's group), another silences on the Alertmanager;
// a changed, expired or stale link, a viewer, or nobody logged in are refused.
func TestActionLinks(t *testing.T) {
	robot, am := dingtalktest.New(t), silencestest.New(t, "")
	e := newEnv(t, linkConfig(t, robot.URL(), am.URL(), ""), "", true)
	e.mustPost(payload("am1", alert{name: "GPUDown", hostgroup: "gpu-1", instance: "i1"}))
	eventually(t, "the message with its links", func() bool { return len(linksIn(robot)["认领"]) == 1 })
	ack, silence := linksIn(robot)["认领"][0], linksIn(robot)["静默1小时"][0]

	// Nobody logged in: to the login page, and back.
	anonymous := newBrowser(t, e.http.URL)
	if resp, _ := anonymous.get(ack); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
		t.Fatalf("a link without a login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := anonymous.post(ack, nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a link posted without a login: %d", resp.StatusCode)
	}
	viewer := newBrowser(t, e.http.URL)
	viewer.login("vera", "vera-pw")
	viewer.pageHas(t, ack, http.StatusForbidden, "needs the operator role")

	otto := newBrowser(t, e.http.URL)
	_, csrf := otto.login("otto", "otto-pw")
	otto.pageHas(t, ack, http.StatusOK, `id="act-form"`, "GPUDown", "ops-dingtalk")
	if claims, _ := e.store.AlertClaims(t.Context(), fingerprintOf(t, e.list("")[0])); claims[0].Ack != nil {
		t.Fatal("opening the link acknowledged: a link preview would act")
	}
	if resp, _ := otto.post(ack, nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a link posted without the session's CSRF token: %d, want 403", resp.StatusCode)
	}
	if resp, body := otto.post(ack, url.Values{"csrf": {csrf}}, nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "otto acknowledged GPUDown on i1") {
		t.Fatalf("the ack link: %d\n%s", resp.StatusCode, body)
	}
	claims, _ := e.store.AlertClaims(t.Context(), fingerprintOf(t, e.list("")[0]))
	if claims[0].Ack == nil || claims[0].Ack.Author != "otto" || claims[0].Ack.Source != "link:ops-dingtalk" {
		t.Fatalf("the claim after the link: %+v", claims[0].Ack)
	}
	eventually(t, "the confirmation in the robot's group", func() bool {
		for _, m := range robot.Messages() {
			if strings.Contains(m.Content(), "otto acknowledged GPUDown on i1") {
				return !strings.Contains(m.Content(), "/act/") // a notice carries no links
			}
		}
		return false
	})
	if resp, body := otto.post(silence, url.Values{"csrf": {csrf}}, nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "otto silenced GPUDown for 1h0m0s") {
		t.Fatalf("the silence link: %d\n%s", resp.StatusCode, body)
	}
	e.srv.silencer.Sync(t.Context())
	if active := am.Active(); len(active) != 1 {
		t.Fatalf("%d silences on the Alertmanager, want 1", len(active))
	}
	otto.pageHas(t, "/audit", http.StatusOK, "a link in ops-dingtalk", "silence.add", "alert.acknowledge")

	// Changed, or from another server: refused.
	tampered := ack[:len(ack)-3] + map[bool]string{true: "AAA", false: "BBB"}[!strings.HasSuffix(ack, "AAA")]
	otto.pageHas(t, tampered, http.StatusBadRequest, "this link is not valid")
	// Stale: the alert resolved and fired again; the old links act on nothing.
	gpu := alert{name: "GPUDown", hostgroup: "gpu-1", instance: "i1"}
	resolved := gpu
	resolved.status = "resolved"
	e.mustPost(payload("am1", resolved))
	e.clock.Add(time.Minute)
	gpu.startsAt = e.clock.Now()
	e.mustPost(payload("am1", gpu))
	otto.pageHas(t, silence, http.StatusConflict, "over: it resolved, or fired again")
	// Expired: a day later.
	eventually(t, "the new episode's message", func() bool { return len(linksIn(robot)["认领"]) == 2 })
	fresh := linksIn(robot)["认领"][1]
	e.clock.Add(25 * time.Hour)
	otto.pageHas(t, fresh, http.StatusGone, "expired")
	if n := len(e.list(store.Dead)); n != 0 {
		t.Errorf("%d dead notifications", n)
	}
}

// With web.signed_links_act_without_login, the link is enough: it acts as the link of its
// receiver.
func TestActionLinksWithoutLogin(t *testing.T) {
	robot, am := dingtalktest.New(t), silencestest.New(t, "")
	e := newEnv(t, linkConfig(t, robot.URL(), am.URL(), "  signed_links_act_without_login: true\n"), "", true)
	e.mustPost(payload("am1", alert{name: "GPUDown", hostgroup: "gpu-1", instance: "i1"}))
	eventually(t, "the message with its links", func() bool { return len(linksIn(robot)["认领"]) == 1 })
	anonymous := newBrowser(t, e.http.URL)
	if resp, body := anonymous.post(linksIn(robot)["认领"][0], nil, nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "link in ops-dingtalk&#39;s message acknowledged GPUDown") {
		t.Fatalf("the link without a login: %d\n%s", resp.StatusCode, body)
	}
	claims, _ := e.store.AlertClaims(t.Context(), fingerprintOf(t, e.list("")[0]))
	if claims[0].Ack == nil || claims[0].Ack.Source != "link:ops-dingtalk" {
		t.Fatalf("the claim: %+v", claims[0].Ack)
	}
	// A viewer logged in may do what the link lets anybody do.
	viewer := newBrowser(t, e.http.URL)
	_, csrf := viewer.login("vera", "vera-pw")
	if resp, body := viewer.post(linksIn(robot)["静默1小时"][0], url.Values{"csrf": {csrf}}, nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "link in ops-dingtalk&#39;s message silenced GPUDown") {
		t.Fatalf("the link, followed by a viewer: %d\n%s", resp.StatusCode, body)
	}
}
