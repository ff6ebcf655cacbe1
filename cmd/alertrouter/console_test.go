package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/alertrouter/alertrouter/internal/browsertest"
	"github.com/alertrouter/alertrouter/internal/testenv"
	"github.com/alertrouter/alertrouter/receivers/webhook/webhooktest"
)

// The console in a real browser, on the real binary, fed by a real Alertmanager pair: an
// operator logs in, finds the notifications the webhooks made, opens a dead letter's
// timeline (its failed attempt, the copy the second Alertmanager sent and dedupe dropped),
// retries it and sees it sent, runs the route tester, switches the language and logs out;
// a form posted without its CSRF token is refused; a viewer sees no retry button, and her
// retry is refused.
func TestConsoleInABrowser(t *testing.T) {
	am := testenv.RequireCommand(t, "prometheus-alertmanager")
	ctx := browsertest.New(t, 3*time.Minute)
	rec := webhooktest.New(t)
	// The payment receiver refuses its first two notifications for good: two dead letters.
	rec.Script(webhooktest.Status(http.StatusUnauthorized), webhooktest.Status(http.StatusUnauthorized))
	release := rec.Block()
	defer release()
	hash := func(password string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	dir, addr := t.TempDir(), testenv.FreeAddr(t)
	startRouter(t, dir, addr, fmt.Sprintf(`
global:
  timezone: Asia/Shanghai
receivers:
  - name: pay-hook
    webhook:
      url: %s/hook
  - name: ops-log
    log: {}
routes:
  - hostgroup: fg-ng-ec-microloan
    receivers: [pay-hook]
default_receivers: [ops-log]
web:
  metrics_public: true
  users:
    - {name: otto, password_hash: '%s', role: operator}
    - {name: vera, password_hash: '%s', role: viewer}
`, rec.URL(), hash("otto-pw"), hash("vera-pw")))
	var ams []string
	for i := range 2 {
		amAddr, _ := startAlertmanager(t, am, filepath.Join(dir, fmt.Sprintf("am%d", i)), addr, "")
		ams = append(ams, amAddr)
	}
	startsAt := time.Now().Add(-5 * time.Minute)
	postToAlertmanagers(t, ams,
		testAlert{name: "PaymentGatewayDown", hostgroup: "fg-ng-ec-microloan", instance: "pay-gw-1", startsAt: startsAt},
		testAlert{name: "PaymentLatencyHigh", hostgroup: "fg-ng-ec-microloan", instance: "pay-gw-2", startsAt: startsAt},
		testAlert{name: "GPUTemperatureHigh", hostgroup: "gpu-render-a", instance: "gpu-7", startsAt: startsAt},
	)
	// Both Alertmanagers send all three: each alert goes out once, its copy is dropped.
	// The receiver answers once both copies are in: a dead notification gives its alert
	// back, and a copy arriving after would be sent again.
	var dead map[int64]string
	var dropped float64
	defer func() {
		if t.Failed() {
			t.Logf("dead letters %v, dropped copies %v", dead, dropped)
		}
	}()
	testenv.Eventually(t, 30*time.Second, "three dropped copies", func() bool {
		dropped = metric(t, addr, "alertrouter_alerts_suppressed_total", `reason="duplicate"`)
		return dropped >= 3
	})
	release()
	testenv.Eventually(t, 30*time.Second, "two dead letters", func() bool {
		dead = deadLetters(t, addr)
		return len(dead) == 2
	})
	var gatewayDown, latencyHigh int64
	for id, names := range dead {
		switch names {
		case "PaymentGatewayDown":
			gatewayDown = id
		case "PaymentLatencyHigh":
			latencyHigh = id
		}
	}
	if gatewayDown == 0 || latencyHigh == 0 {
		t.Fatal("the dead letters are not one of each")
	}

	b := &tab{t: t, ctx: ctx, base: "http://" + addr}
	// Not logged in: the console sends the browser to its login page, and back after it.
	b.open("/notifications")
	if loc := b.location(); !strings.Contains(loc, "/login?next=") {
		t.Fatalf("not logged in, /notifications is at %s", loc)
	}
	b.login("otto", "otto-pw")
	if loc := b.location(); !strings.HasSuffix(loc, "/notifications") {
		t.Fatalf("after the login the browser is at %s, want back at /notifications", loc)
	}
	b.has("#whoami", "otto")
	b.has("#notifications", "PaymentGatewayDown", "PaymentLatencyHigh", "GPUTemperatureHigh", "fg-ng-ec-microloan", "gpu-render-a")

	// A dead letter's timeline: accepted, refused with 401 (dead), the pair's other copy
	// dropped; and where it came from.
	b.open("/dead?alertname=PaymentGatewayDown")
	b.click("#notifications tbody a")
	b.has("#timeline", "accepted", "401", "suppressed", "from http://127.0.0.1:")
	b.has("#facts", "pay-hook", "fg-ng-ec-microloan", "http://127.0.0.1:")
	browsertest.Picture(t, ctx, "timeline")

	// Retried, it goes out as a new notification, and the receiver takes it now.
	b.click("#retry")
	retried := b.location()
	if !strings.Contains(retried, "/notifications/") || strings.HasSuffix(retried, "/"+strconv.FormatInt(gatewayDown, 10)) {
		t.Fatalf("the retry shows %s, want a new notification's page", retried)
	}
	testenv.Eventually(t, 30*time.Second, "the retried notification sent", func() bool {
		b.open(strings.TrimPrefix(retried, b.base))
		return b.text("#status") == "sent"
	})
	b.open("/audit")
	b.has("#audit", "otto", "notification.retry", "notification "+strconv.FormatInt(gatewayDown, 10))

	b.open("/")
	b.has("#overview", "pay-hook", "ops-log", "gpu-render-a")
	if n := b.count("#chart-day svg rect"); n == 0 {
		t.Error("the day's chart has no bars")
	}
	browsertest.Picture(t, ctx, "overview")

	// The route tester answers as `route test` does.
	b.open("/routing")
	b.do(chromedp.SetValue(chromedp.CSS("#route-test textarea"), "alertname=PaymentGatewayDown\nhostgroup=fg-ng-ec-microloan"))
	b.click("#route-test-submit")
	b.has("#route-result", "route:     routes[0]", "receiver:  pay-hook (via routes[0])")

	// The language switch, and back.
	b.click("#lang-switch")
	b.has("h1", "路由")
	b.has("header nav", "概览", "通知", "死信")
	b.click("#lang-switch")
	b.has("h1", "Routing")

	// A form posted from the logged-in browser without its CSRF token changes nothing.
	if code := b.post("/dead/discard", "id="+strconv.FormatInt(latencyHigh, 10)); code != http.StatusForbidden {
		t.Errorf("a discard without the CSRF token: %d, want 403", code)
	}
	if _, ok := deadLetters(t, addr)[latencyHigh]; !ok {
		t.Error("the CSRF-less discard discarded")
	}

	b.click("#logout")
	if loc := b.location(); !strings.Contains(loc, "/login") {
		t.Fatalf("after logout the browser is at %s", loc)
	}
	b.open("/dead")
	if loc := b.location(); !strings.Contains(loc, "/login?next=") {
		t.Fatalf("after logout /dead is at %s", loc)
	}

	// A viewer reads and does not act.
	b.login("vera", "vera-pw")
	b.has("#whoami", "vera")
	b.has("#notifications", "PaymentLatencyHigh")
	if n := b.count("#retry-selected, #discard-selected, input[name=id]"); n != 0 {
		t.Errorf("a viewer sees %d retry or discard controls", n)
	}
	if code := b.post("/dead/retry", "id="+strconv.FormatInt(latencyHigh, 10)+"&csrf="+b.csrf()); code != http.StatusForbidden {
		t.Errorf("a viewer's retry, with her CSRF token: %d, want 403", code)
	}
	if _, ok := deadLetters(t, addr)[latencyHigh]; !ok {
		t.Error("a viewer's retry retried")
	}
}

// deadLetters are the router's dead letters, by id: their alert names, as the API lists
// them to an operator.
func deadLetters(t *testing.T, addr string) map[int64]string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/v1/dead", nil)
	req.SetBasicAuth("otto", "otto-pw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data []struct {
			ID         int64    `json:"id"`
			AlertNames []string `json:"alertNames"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/dead: %d %v", resp.StatusCode, err)
	}
	out := map[int64]string{}
	for _, n := range body.Data {
		out[n.ID] = strings.Join(n.AlertNames, ",")
	}
	return out
}

// tab is the browser's tab, on the console at base.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

// open loads the console's path and waits for it.
func (b *tab) open(path string) {
	b.t.Helper()
	if _, err := chromedp.RunResponse(b.ctx, chromedp.Navigate(b.base+path)); err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
}

// click clicks the first element sel selects, and waits for the page it loads.
func (b *tab) click(sel string) {
	b.t.Helper()
	if _, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("click %s: %v", sel, err)
	}
}

func (b *tab) login(user, password string) {
	b.t.Helper()
	b.do(chromedp.SendKeys(chromedp.CSS("#user"), user), chromedp.SendKeys(chromedp.CSS("#password"), password))
	b.click("#login")
}

func (b *tab) location() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return loc
}

// text is what the element sel selects shows.
func (b *tab) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// has checks that the element sel selects shows each of want.
func (b *tab) has(sel string, want ...string) {
	b.t.Helper()
	got := b.text(sel)
	for _, w := range want {
		if !strings.Contains(got, w) {
			b.t.Errorf("%s of %s lacks %q:\n%s", sel, b.location(), w, got)
		}
	}
}

// count is how many elements sel selects now.
func (b *tab) count(sel string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(sel)+`).length`))
	if err != nil {
		b.t.Fatal(err)
	}
	return n
}

// post sends a form from the page, as a script on it could (with the session's cookie),
// and returns the answer's status.
func (b *tab) post(path, form string) int {
	b.t.Helper()
	code, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`fetch(`+strconv.Quote(path)+`, {method: "POST", redirect: "manual",
		headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: `+strconv.Quote(form)+`}).then(r => r.status)`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatal(err)
	}
	return code
}

// csrf is the session's CSRF token, as the page's forms carry it.
func (b *tab) csrf() string {
	b.t.Helper()
	token, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("#logout").form.elements.csrf.value`))
	if err != nil {
		b.t.Fatal(err)
	}
	return token
}
