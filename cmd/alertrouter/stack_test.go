package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/alertrouter/alertrouter/internal/testenv"
	"github.com/alertrouter/alertrouter/receivers/aliyuncms/cmstest"
	"github.com/alertrouter/alertrouter/receivers/dingtalk/dingtalktest"
	"github.com/alertrouter/alertrouter/receivers/email/smtptest"
	"github.com/alertrouter/alertrouter/receivers/feishu/feishutest"
	"github.com/alertrouter/alertrouter/receivers/slack/slacktest"
	"github.com/alertrouter/alertrouter/receivers/wecom/wecomtest"
)

// exporters serves what the rule packs read, as blackbox, dcgm-exporter and
// nginx-vts-exporter would, with values the test changes while the stack runs.
type exporters struct {
	mu        sync.Mutex
	probe     map[string]float64 // probe_success by target; 1 when unset
	gpuTemp   float64
	rate5xx   float64 // requests per second, of rateTotal
	rateTotal float64
	requests  map[string]float64 // nginx counters by code
	last      time.Time

	blackbox, dcgm, nginx *httptest.Server
}

func newExporters(t *testing.T) *exporters {
	e := &exporters{probe: map[string]float64{}, gpuTemp: 60, rateTotal: 100, requests: map[string]float64{}, last: time.Now()}
	e.blackbox = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		defer e.mu.Unlock()
		v, ok := e.probe[r.URL.Query().Get("target")]
		if !ok {
			v = 1
		}
		fmt.Fprintf(w, "probe_success %g\nprobe_duration_seconds 0.05\n", v)
	}))
	e.dcgm = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		defer e.mu.Unlock()
		const gpu = `{gpu="0",UUID="GPU-5c0e1f4b",device="nvidia0",modelName="NVIDIA A10",Hostname="render-1"}`
		fmt.Fprintf(w, "DCGM_FI_DEV_GPU_TEMP%s %g\nDCGM_FI_DEV_FB_USED%s 4000\nDCGM_FI_DEV_FB_FREE%s 18000\n"+
			"DCGM_FI_DEV_POWER_USAGE%s 90\nDCGM_FI_DEV_POWER_MGMT_LIMIT%s 300\nDCGM_FI_DEV_XID_ERRORS%s 0\n",
			gpu, e.gpuTemp, gpu, gpu, gpu, gpu, gpu)
	}))
	e.nginx = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		defer e.mu.Unlock()
		// Counters grow with the rates set now, over the time since the last scrape.
		now := time.Now()
		dt := now.Sub(e.last).Seconds()
		e.last = now
		e.requests["5xx"] += e.rate5xx * dt
		e.requests["2xx"] += (e.rateTotal - e.rate5xx) * dt
		e.requests["total"] += e.rateTotal * dt
		fmt.Fprintln(w, "# TYPE nginx_vts_server_requests_total counter")
		for _, host := range []string{"pay.example.com", "*"} {
			for _, code := range []string{"2xx", "5xx", "total"} {
				fmt.Fprintf(w, "nginx_vts_server_requests_total{host=%q,code=%q} %g\n", host, code, e.requests[code])
			}
		}
	}))
	t.Cleanup(func() { e.blackbox.Close(); e.dcgm.Close(); e.nginx.Close() })
	return e
}

func (e *exporters) set(change func(*exporters)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	change(e)
}

func hostOf(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }

// fromExample reads a file of examples/ and makes it run on loopback. Every
// replacement must apply: when an example changes, the test names the one that no
// longer does, so the example and the test cannot drift apart.
func fromExample(t *testing.T, name string, replacements ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../examples", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i < len(replacements); i += 2 {
		if !strings.Contains(s, replacements[i]) {
			t.Fatalf("examples/%s no longer contains %q: update the stack test with the example", name, replacements[i])
		}
		s = strings.ReplaceAll(s, replacements[i], replacements[i+1])
	}
	return s
}

// sentNotifications lists the router's sent notifications as "receiver route alertname alertStatus".
func sentNotifications(t *testing.T, addr string) []string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/api/v1/notifications?status=sent&limit=1000")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data []struct {
			Receiver    string   `json:"receiver"`
			Route       string   `json:"route"`
			AlertNames  []string `json:"alertNames"`
			AlertStatus string   `json:"alertStatus"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range body.Data {
		out = append(out, fmt.Sprintf("%s %s %s %s", n.Receiver, n.Route, strings.Join(n.AlertNames, ","), n.AlertStatus))
	}
	return out
}

// textsOf lists what each message of a robot fake shows.
func textsOf[M any](msgs []M, text func(M) string) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = text(m)
	}
	return out
}

func count(list []string, item string) int {
	n := 0
	for _, s := range list {
		if s == item {
			n++
		}
	}
	return n
}

// TestStack runs the examples on loopback: the test's exporters, Debian's Prometheus
// with the exported rule packs, two Alertmanagers that are not clustered, and
// alertrouter routing six host groups to a Slack fake, a real SMTP server, a
// signature-checking Aliyun CMS fake and DingTalk, WeCom and Feishu fakes that check
// theirs, with its watchdog on that Prometheus. Then it
// breaks things: alerts fire and resolve while every receiver rate limits, a storm of
// alerts with a SIGKILL in the middle, and Prometheus stopped and started.
func TestStack(t *testing.T) {
	am := testenv.RequireCommand(t, "prometheus-alertmanager")
	testenv.RequireCommand(t, "prometheus")
	dir := t.TempDir()
	exp := newExporters(t)
	slack := slacktest.New(t)
	smtp := smtptest.Start(t)
	cms := cmstest.New(t)
	ding, wecom, feishu := dingtalktest.New(t), wecomtest.New(t), feishutest.New(t)
	const dingSecret, feishuSecret = "SECstack-dingtalk", "stack-feishu"
	ding.SetSecret(dingSecret)
	feishu.SetSecret(feishuSecret)
	promAddr, routerAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	amAddrs := []string{testenv.FreeAddr(t), testenv.FreeAddr(t)}

	secret := func(name, value string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	const token = "stack-token"
	tokenFile := secret("alertrouter_token", token)

	// The rule packs with the short delays of a test.
	rulesDir := filepath.Join(dir, "rules")
	if code, out, errOut := runCLI(t, "rules", "export", "--dir", rulesDir, "--no-tests",
		"--set", "comfyui.down_for=2s", "--set", "vpn.down_for=2s", "--set", "gpu.temp_for=2s",
		"--set", "nginx.error_for=2s", "--set", "nginx.window=10s", "--set", "meta.alert_for=5s"); code != 0 {
		t.Fatalf("rules export: %d %s %s", code, out, errOut)
	}

	routerCfg := fromExample(t, "alertrouter.yml",
		"/run/secrets/alertrouter_token", tokenFile,
		"/run/secrets/slack_bot_token", secret("slack_bot_token", "xoxb-stack-test"),
		"https://slack.com/api/", slack.URL()+"/api/",
		"smtp.example.com:587", smtp.Addr(),
		"      auth_password_file: /run/secrets/smtp_password", "      auth_password_file: "+secret("smtp_password", smtptest.Password)+"\n      ca_file: "+smtp.CAFile(t),
		"LTAI5tExampleKeyId", cmstest.KeyID,
		"/run/secrets/aliyun_access_key_secret", secret("aliyun_access_key_secret", cmstest.Secret),
		"endpoint: metrics.cn-shanghai.aliyuncs.com\n      scheme: https", "endpoint: "+cms.Host()+"\n      scheme: http",
		// The robots pause for a minute after "too fast"; the test has no minute to spare.
		"/run/secrets/dingtalk_url", secret("dingtalk_url", ding.URL())+"\n      throttle_wait: 2s",
		"/run/secrets/dingtalk_secret", secret("dingtalk_secret", dingSecret),
		"/run/secrets/wecom_url", secret("wecom_url", wecom.URL())+"\n      throttle_wait: 2s",
		"/run/secrets/feishu_url", secret("feishu_url", feishu.URL())+"\n      throttle_wait: 2s",
		"/run/secrets/feishu_secret", secret("feishu_secret", feishuSecret),
		"interval: 30s", "interval: 1s",
		"warning_after: 1m", "warning_after: 3s",
		"critical_after: 3m", "critical_after: 6s",
		"timeout: 10m", "timeout: 1m",
		"http://prometheus:9090", "http://"+promAddr,
		"http://alertmanager-a:9093", "http://"+amAddrs[0],
		"http://alertmanager-b:9093", "http://"+amAddrs[1],
	)
	router := startRouter(t, dir, routerAddr, routerCfg)

	amCfg := fromExample(t, "alertmanager.yml",
		"http://alertrouter:9095/webhook", "http://"+routerAddr+"/webhook",
		"/run/secrets/alertrouter_token", tokenFile,
		"group_wait: 30s", "group_wait: 1s",
		"group_interval: 5m", "group_interval: 1s",
		"group_interval: 1m", "group_interval: 1s",
		"repeat_interval: 1m", "repeat_interval: 2s",
	)
	amCfgFile := secret("alertmanager.yml", amCfg)
	for i, addr := range amAddrs {
		p := testenv.Start(t, dir, am, "--config.file="+amCfgFile, "--storage.path="+filepath.Join(dir, fmt.Sprintf("am%d", i)),
			"--web.listen-address="+addr, "--cluster.listen-address=")
		testenv.WaitReady(t, p, "http://"+addr+"/-/ready")
	}

	promCfg := fromExample(t, "prometheus.yml",
		"scrape_interval: 15s", "scrape_interval: 1s",
		"evaluation_interval: 15s", "evaluation_interval: 1s",
		"'alertmanager-a:9093', 'alertmanager-b:9093'", fmt.Sprintf("'%s', '%s'", amAddrs[0], amAddrs[1]),
		"/etc/prometheus/rules/*.yml", filepath.Join(rulesDir, "*.yml"),
		"blackbox:9115", hostOf(exp.blackbox),
		"dcgm-exporter:9400", hostOf(exp.dcgm),
		"nginx-vts-exporter:9913", hostOf(exp.nginx),
		"localhost:9090", promAddr,
		"alertrouter:9095", routerAddr,
	)
	promDir := filepath.Join(dir, "prometheus")
	os.MkdirAll(promDir, 0o755)
	prom := testenv.StartPrometheus(t, promDir, promAddr, promCfg)

	watchdogState := func() string {
		resp, err := http.Get("http://" + routerAddr + "/api/v1/watchdog")
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	var lastState string
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		t.Logf("watchdog state: %s", lastState)
		for _, u := range []string{"http://" + promAddr + "/api/v1/alertmanagers", "http://" + promAddr + "/metrics", "http://" + amAddrs[0] + "/api/v2/alerts"} {
			if resp, err := http.Get(u); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				text := string(b)
				if strings.HasSuffix(u, "/metrics") {
					var keep []string
					for _, l := range strings.Split(text, "\n") {
						if strings.HasPrefix(l, "prometheus_notifications") {
							keep = append(keep, l)
						}
					}
					text = strings.Join(keep, "\n")
				}
				t.Logf("%s: %s", u, testenv.Tail(text, 3000))
			}
		}
		t.Logf("alertrouter stdout: %s", testenv.Tail(router.Stdout(), 3000))
	})
	testenv.Eventually(t, 60*time.Second, "the heartbeat from prom-main and every watchdog target up", func() bool {
		lastState = watchdogState()
		return strings.Contains(lastState, `"source":"prom-main"`) && strings.Count(lastState, `"state":"up"`) == 3
	})

	t.Run("alerts reach their host group's receiver once, while receivers rate limit", func(t *testing.T) {
		slack.Throttle(2, 1)
		smtp.Refuse(2)
		cms.Throttle(2)
		ding.Throttle(2)
		wecom.Throttle(2)
		feishu.Throttle(2, 9499)
		exp.set(func(e *exporters) {
			e.probe["http://comfyui-1:8188"] = 0
			e.probe["http://comfyui-b1:8188"] = 0
			e.probe["10.8.0.1:443"] = 0
			e.probe["10.9.0.1:443"] = 0
			e.probe["10.10.0.1:443"] = 0
			e.gpuTemp = 85
			e.rate5xx = 20
		})
		want := []string{
			"render-slack gpu-render-a ComfyUI_Down", "render-slack gpu-render-a GPU_TemperatureHigh",
			"pay-email pay-gw Nginx_High5xxRatio", "cms pay-vpn VPN_Down",
			"sz-dingtalk pay-vpn-sz VPN_Down", "office-wecom office-vpn VPN_Down", "render-b-feishu gpu-render-b ComfyUI_Down",
		}
		all := func(status string) bool {
			sent := sentNotifications(t, routerAddr)
			for _, w := range want {
				if count(sent, w+" "+status) == 0 {
					return false
				}
			}
			return true
		}
		testenv.Eventually(t, 90*time.Second, "every alert delivered", func() bool { return all("firing") })
		exp.set(func(e *exporters) {
			for _, target := range []string{"http://comfyui-1:8188", "http://comfyui-b1:8188", "10.8.0.1:443", "10.9.0.1:443", "10.10.0.1:443"} {
				delete(e.probe, target)
			}
			e.gpuTemp = 60
			e.rate5xx = 0
		})
		testenv.Eventually(t, 90*time.Second, "every resolution delivered", func() bool { return all("resolved") })
		time.Sleep(5 * time.Second) // both Alertmanagers have sent everything twice by now

		sent := sentNotifications(t, routerAddr)
		for _, w := range want {
			for _, status := range []string{"firing", "resolved"} {
				if n := count(sent, w+" "+status); n != 1 {
					t.Errorf("%s %s delivered %d times, want once", w, status, n)
				}
			}
		}
		// Nothing else reached a person: the heartbeat and the healthy targets stay quiet.
		for _, s := range sent {
			if !strings.Contains(s, " watchdog ") && !slicesContainsPrefix(want, s) {
				t.Errorf("unexpected notification: %s", s)
			}
		}
		if got := len(slack.Messages()); got != 4 {
			t.Errorf("Slack got %d messages, want 4 (2 alerts, firing and resolved)", got)
		}
		if got := len(smtp.Messages()); got != 2 {
			t.Errorf("SMTP server got %d messages, want 2", got)
		}
		vpnEvents := 0
		for _, ev := range cms.Events() {
			if strings.Contains(ev["Content"], "VPN_Down") {
				vpnEvents++
			}
		}
		if vpnEvents != 2 {
			t.Errorf("CMS got %d VPN_Down events, want 2 (firing and resolved)", vpnEvents)
		}
		if slack.Throttled() != 2 || smtp.Refused() != 2 || cms.Throttled() != 2 {
			t.Errorf("throttled: slack %d, smtp %d, cms %d; want 2 each", slack.Throttled(), smtp.Refused(), cms.Throttled())
		}
		// Each robot took the firing and the resolution once, signed, after refusing two
		// attempts as too fast.
		robots := []struct {
			name      string
			texts     []string
			throttled int
		}{
			{"dingtalk", textsOf(ding.Messages(), func(m dingtalktest.Message) string { return m.Content() }), ding.Throttled()},
			{"wecom", textsOf(wecom.Messages(), func(m wecomtest.Message) string { return m.Content }), wecom.Throttled()},
			{"feishu", textsOf(feishu.Messages(), func(m feishutest.Message) string { return m.Title() + "\n" + m.Text() }), feishu.Throttled()},
		}
		for _, r := range robots {
			if len(r.texts) != 2 || r.throttled != 2 || !strings.Contains(r.texts[0], "【告警】") || !strings.Contains(r.texts[1], "【恢复】") {
				t.Errorf("%s: %d messages (want 2: firing, then resolved), throttled %d (want 2): %q", r.name, len(r.texts), r.throttled, r.texts)
			}
		}
		for _, m := range []struct{ name, match string }{
			{"alertrouter_receiver_wait_seconds_total", `reason="retry_after",receiver="render-slack"`},
			{"alertrouter_notifications_throttled_total", `receiver="render-slack"`},
			{"alertrouter_notifications_throttled_total", `receiver="cms"`},
			{"alertrouter_notifications_failed_total", `reason="retryable",receiver="pay-email"`},
		} {
			if v := metric(t, routerAddr, m.name, m.match); v <= 0 {
				t.Errorf("%s{%s} = %v, want the wait to show", m.name, m.match, v)
			}
		}
	})

	stack := t // processes started in a subtest must outlive it
	t.Run("a storm with a SIGKILL in the middle loses nothing", func(t *testing.T) {
		before := len(cms.Events())
		delivered := func() map[string]bool {
			out := map[string]bool{}
			for _, ev := range cms.Events()[before:] {
				// One event per alert; its content is "[FIRING] Burst on storm-I-J: ...".
				if _, rest, ok := strings.Cut(ev["Content"], "Burst on "); ok {
					out[strings.TrimSuffix(strings.Fields(rest)[0], ":")] = true
				}
			}
			return out
		}
		// A slow endpoint keeps deliveries behind the webhooks, so that the kill finds
		// accepted alerts not yet delivered.
		cms.SetDelay(20 * time.Millisecond)
		accepted := storm(t, routerAddr, token, 400, 10, 200, router.Kill, func(i, j int) (string, string) {
			return fmt.Sprintf("storm-%d-%d", i, j), "pay-vpn"
		})
		atKill := len(delivered())
		if atKill >= len(accepted) {
			t.Fatalf("all %d accepted alerts were delivered before the kill: the test proved nothing", len(accepted))
		}
		cms.SetDelay(0)
		router = startRouter(stack, dir, routerAddr, routerCfg)
		testenv.Eventually(t, 120*time.Second, "every accepted alert delivered to CMS", func() bool {
			seen := delivered()
			for _, inst := range accepted {
				if !seen[inst] {
					return false
				}
			}
			return true
		})
		t.Logf("%d alerts accepted, %d of them delivered at the kill, all delivered after the restart", len(accepted), atKill)
	})

	t.Run("Prometheus stopped and started", func(t *testing.T) {
		if code := prom.Stop(t); code != 0 {
			t.Fatalf("prometheus exit code %d", code)
		}
		down := []string{"PrometheusDown/down/info/firing", "PrometheusDown/down/warning/firing", "PrometheusDown/down/critical/firing"}
		testenv.Eventually(t, 30*time.Second, "down escalated", func() bool {
			return containsInOrder(logEvents(t, router.Stdout()), down)
		})
		testenv.Eventually(t, 90*time.Second, "the heartbeat switch", func() bool {
			return count(logEvents(t, router.Stdout()), "AlertPipelineBroken/heartbeat_missing/critical/firing") == 1
		})
		prom = testenv.StartPrometheus(stack, promDir, promAddr, promCfg)
		testenv.Eventually(t, 60*time.Second, "restarted, recovered and the heartbeat back", func() bool {
			ev := logEvents(t, router.Stdout())
			return count(ev, "PrometheusRestarted/restarted/warning/firing") == 1 &&
				count(ev, "PrometheusDown/recovered/info/resolved") == 1 &&
				count(ev, "AlertPipelineBroken/heartbeat_recovered/info/resolved") == 1
		})
		time.Sleep(3 * time.Second)
		ev := logEvents(t, router.Stdout())
		for _, e := range append(down, "PrometheusRestarted/restarted/warning/firing", "PrometheusDown/recovered/info/resolved",
			"AlertPipelineBroken/heartbeat_missing/critical/firing", "AlertPipelineBroken/heartbeat_recovered/info/resolved") {
			if n := count(ev, e); n != 1 {
				t.Errorf("%s logged %d times, want once (all: %v)", e, n, ev)
			}
		}
	})
}

func slicesContainsPrefix(prefixes []string, s string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p+" ") {
			return true
		}
	}
	return false
}

// containsInOrder reports whether want appears in list, in order, possibly with others between.
func containsInOrder(list, want []string) bool {
	i := 0
	for _, s := range list {
		if i < len(want) && s == want[i] {
			i++
		}
	}
	return i == len(want)
}

// composeFile is what the compose tests read of a compose file.
type composeFile struct {
	Services map[string]struct {
		Command []string `yaml:"command"`
		Volumes []string `yaml:"volumes"`
		Secrets []string `yaml:"secrets"`
	} `yaml:"services"`
	Secrets map[string]struct {
		File string `yaml:"file"`
	} `yaml:"secrets"`
}

func readCompose(t *testing.T, path string) composeFile {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// There is no Docker engine to run examples/docker-compose.yml, so this test holds it
// to the files TestStack runs: each service mounts them where they point, the
// Alertmanagers are not clustered (as in TestStack), every /run/secrets/NAME a config
// reads is given to its service, and every compose host a config names is a service.
func TestComposeRunsTheStackFiles(t *testing.T) {
	compose := readCompose(t, "../../examples/docker-compose.yml")
	mounts := map[string][]string{
		"prometheus":     {"./prometheus.yml:/etc/prometheus/prometheus.yml:ro", "./rules:/etc/prometheus/rules:ro"},
		"alertmanager-a": {"./alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro"},
		"alertmanager-b": {"./alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro"},
		"alertrouter":    {"./alertrouter.yml:/etc/alertrouter/alertrouter.yml:ro"},
	}
	configs := map[string]string{"prometheus": "prometheus.yml", "alertmanager-a": "alertmanager.yml",
		"alertmanager-b": "alertmanager.yml", "alertrouter": "alertrouter.yml"}
	secretRef := regexp.MustCompile(`/run/secrets/([a-z_]+)`)
	hostRef := regexp.MustCompile(`(?:^|[\s'/\[,])([a-z][a-z0-9-]*):(9[0-9]{3})\b`)
	for service, want := range mounts {
		svc, ok := compose.Services[service]
		if !ok {
			t.Errorf("no service %s", service)
			continue
		}
		for _, m := range want {
			if !slices.Contains(svc.Volumes, m) {
				t.Errorf("service %s does not mount %s", service, m)
			}
		}
		content, err := os.ReadFile("../../examples/" + configs[service])
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range secretRef.FindAllStringSubmatch(string(content), -1) {
			if !slices.Contains(svc.Secrets, m[1]) {
				t.Errorf("%s reads /run/secrets/%s, which service %s is not given", configs[service], m[1], service)
			}
			if s, ok := compose.Secrets[m[1]]; !ok || !strings.HasPrefix(s.File, "./secrets/") {
				t.Errorf("secret %s is not declared from ./secrets/", m[1])
			}
		}
		for _, m := range hostRef.FindAllStringSubmatch(string(content), -1) {
			host := m[1]
			if host == "localhost" || host == "dcgm-exporter" || host == "nginx-vts-exporter" {
				continue // Prometheus itself, and exporters on the GPU hosts and the gateway
			}
			if _, ok := compose.Services[host]; !ok {
				t.Errorf("%s names %s:%s, which is no compose service", configs[service], host, m[2])
			}
		}
	}
	for _, service := range []string{"alertmanager-a", "alertmanager-b"} {
		cmd := compose.Services[service].Command // alertmanager-b's is merged from a's anchor
		if !slices.Contains(cmd, "--cluster.listen-address=") {
			t.Errorf("%s is clustered (command %v); TestStack runs the pair unclustered", service, cmd)
		}
	}
}

// examples/compose-ha.yml cannot run here either: this holds it to what replicated mode
// needs. Both replicas read the database URL from a secret they are given, every secret
// their configs read is given to them, and both Alertmanagers send to both replicas.
func TestComposeHA(t *testing.T) {
	compose := readCompose(t, "../../examples/compose-ha.yml")
	routerCfg, err := os.ReadFile("../../examples/alertrouter.yml")
	if err != nil {
		t.Fatal(err)
	}
	secretRef := regexp.MustCompile(`/run/secrets/([a-z_]+)`)
	for _, replica := range []string{"alertrouter-a", "alertrouter-b"} {
		svc := compose.Services[replica]
		urlFile := ""
		for _, arg := range svc.Command {
			if v, ok := strings.CutPrefix(arg, "--storage.url-file="); ok {
				urlFile = v
			}
		}
		reads := secretRef.FindAllStringSubmatch(urlFile+" "+string(routerCfg), -1)
		if urlFile == "" || len(reads) == 0 {
			t.Errorf("%s does not read its database URL from a secret file: %v", replica, svc.Command)
		}
		for _, m := range reads {
			if !slices.Contains(svc.Secrets, m[1]) {
				t.Errorf("%s reads /run/secrets/%s, which it is not given", replica, m[1])
			}
			if s, ok := compose.Secrets[m[1]]; !ok || !strings.HasPrefix(s.File, "./secrets/") {
				t.Errorf("secret %s is not declared from ./secrets/", m[1])
			}
		}
		if !slices.Contains(svc.Volumes, "./alertrouter.yml:/etc/alertrouter/alertrouter.yml:ro") {
			t.Errorf("%s does not mount alertrouter.yml", replica)
		}
	}
	amCfg, err := os.ReadFile("../../examples/alertmanager-ha.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, am := range []string{"alertmanager-a", "alertmanager-b"} {
		if !slices.Contains(compose.Services[am].Volumes, "./alertmanager-ha.yml:/etc/alertmanager/alertmanager.yml:ro") {
			t.Errorf("%s does not run alertmanager-ha.yml", am)
		}
	}
	for _, replica := range []string{"alertrouter-a", "alertrouter-b"} {
		if !strings.Contains(string(amCfg), "http://"+replica+":9095/webhook") {
			t.Errorf("alertmanager-ha.yml does not send to %s", replica)
		}
	}
	// The Alertmanager config is valid for the Alertmanager we test with.
	if am, err := exec.LookPath("prometheus-alertmanager"); err == nil {
		amtool := filepath.Join(filepath.Dir(am), "amtool")
		if _, err := os.Stat(amtool); err == nil {
			tokenDir := t.TempDir()
			cfg := strings.ReplaceAll(string(amCfg), "/run/secrets/alertrouter_token", filepath.Join(tokenDir, "token"))
			os.WriteFile(filepath.Join(tokenDir, "token"), []byte("t\n"), 0o600)
			os.WriteFile(filepath.Join(tokenDir, "am.yml"), []byte(cfg), 0o600)
			if out, err := exec.Command(amtool, "check-config", filepath.Join(tokenDir, "am.yml")).CombinedOutput(); err != nil {
				t.Errorf("amtool check-config alertmanager-ha.yml: %v\n%s", err, out)
			}
		}
	}
}
