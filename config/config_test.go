package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/alertrouter/alertrouter/receivers/webhook"
)

func TestIssueExampleLoads(t *testing.T) {
	c, err := LoadFile("testdata/issue.yml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Global.HostgroupLabel != "hostgroup" || c.Global.RepeatInterval.Std() != 4*time.Hour ||
		!c.Global.SendResolved || c.Global.Retention.Std() != 168*time.Hour ||
		c.Global.MaxRetryAge.Std() != DefaultMaxRetryAge {
		t.Errorf("global = %+v", c.Global)
	}
	if c.Webhook.BearerTokenFile != "/run/secrets/alertrouter_token" || c.Webhook.MaxBodyBytes != DefaultMaxBodyBytes {
		t.Errorf("webhook = %+v", c.Webhook)
	}
	if len(c.Routes) != 2 || c.Routes[0].Name != "routes[0]" || !c.Routes[1].Continue {
		t.Fatalf("routes = %+v", c.Routes)
	}
	re := c.Routes[1].HostgroupRegexp()
	if re == nil || !re.MatchString("gpu-a100") || re.MatchString("x-gpu-a100") {
		t.Errorf("hostgroup_regex is not anchored: %v", re)
	}
	if ms := c.Routes[1].ParsedMatchers(); len(ms) != 1 || ms[0].Name != "severity" {
		t.Errorf("matchers = %v", ms)
	}
	if r, ok := c.Receiver("pay-hook"); !ok || r.Integration.Key != "webhook" || string(r.Config.(*webhook.Config).URL) != "http://127.0.0.1:18081/hook" {
		t.Errorf("pay-hook = %+v", r)
	}
}

func TestTimezoneAndTemplates(t *testing.T) {
	c, err := Load([]byte("global:\n  timezone: Asia/Shanghai\ntemplates: ['testdata/*.ok.tmpl']\nreceivers:\n  - {name: a, log: {}}\ndefault_receivers: [a]\n"), "cfg.yml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Location().String() != "Asia/Shanghai" {
		t.Errorf("location = %v", c.Location())
	}
	if err := c.Tmpl().Check(`{{ template "team.footer" . }}`, false); err != nil {
		t.Errorf("user template not loaded: %v", err)
	}
}

func TestDefaultConfig(t *testing.T) {
	c := Default()
	if len(c.Receivers) != 1 || c.Receivers[0].Integration.Key != "log" || len(c.DefaultReceivers) != 1 || c.DefaultReceivers[0] != "log" {
		t.Fatalf("default config = %+v", c)
	}
}

// The example configs we ship must load.
func TestExamplesLoad(t *testing.T) {
	files, _ := filepath.Glob("../examples/*alertrouter*.yml")
	if len(files) == 0 {
		t.Fatal("no example configs found")
	}
	for _, f := range files {
		if _, err := LoadFile(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestInvalidConfigs(t *testing.T) {
	const base = `receivers:
  - name: a
    log: {}
default_receivers: [a]
`
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown field", "recievers: []\n", "cfg.yml:1: recievers: field recievers not found in type config.Config"},
		{"unknown nested field", base + "routes:\n  - hostgroup: x\n    reciever: [a]\n", "cfg.yml:7: routes[0].reciever: field reciever not found in type config.Route"},
		{"wrong type", base + "webhook:\n  max_body_bytes: lots\n", "cfg.yml:6: webhook.max_body_bytes: cannot unmarshal !!str `lots` into int64"},
		{"not yaml", "routes: [\n", "cfg.yml:1: YAML: did not find expected node content"},
		{"not UTF-8", "receivers:\n  - name: a\xff\n    log: {}\n", "cfg.yml:2: the file is not UTF-8: byte 0xff at column 12"},
		{"nested too deep", "receivers:\n  - name: a\n    log: {}\nx: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "\n", "cfg.yml:4: YAML: exceeded max depth of 10000"},
		{"control character", "receivers:\n  - name: a\x01\n", "cfg.yml:2: YAML: control characters are not allowed"},
		{"cut off", "receivers:\n  - name: \"a\n", "cfg.yml:2: YAML: found unexpected end of stream"},
		{"empty", "", "cfg.yml:1: the file is empty: a config needs receivers and default_receivers (start from examples/alertrouter.yml)"},
		{"only comments", "  \n# nothing here\n", "cfg.yml:1: the file is empty: a config needs receivers and default_receivers (start from examples/alertrouter.yml)"},
		{"bad duration", "global:\n  repeat_interval: 4 hours\n" + base, `cfg.yml:2: global.repeat_interval: "4 hours" is not a duration (like 30s, 5m, 4h or 7d)`},
		{"no default receivers", "receivers:\n  - name: a\n    log: {}\n", "cfg.yml:1: default_receivers: at least one receiver is required: alerts that match no route go there"},
		{"unknown default", base + "routes: []\n" + "", ""},
		{"unknown route receiver", base + "routes:\n  - hostgroup: x\n    receivers: [a, b]\n", `cfg.yml:7: routes[0].receivers[1]: unknown receiver "b"`},
		{"bad regex", base + "routes:\n  - hostgroup_regex: 'gpu-('\n    receivers: [a]\n", "cfg.yml:6: routes[0].hostgroup_regex: error parsing regexp: missing closing ): `^(?:gpu-()$`"},
		{"both selectors", base + "routes:\n  - hostgroup: a\n    hostgroup_regex: b\n    receivers: [a]\n", "cfg.yml:7: routes[0].hostgroup_regex: hostgroup and hostgroup_regex are mutually exclusive"},
		{"no selector", base + "routes:\n  - receivers: [a]\n", `cfg.yml:6: routes[0]: needs hostgroup, hostgroup_regex or matchers (for a catch-all use matchers: ['alertname=~".+"'])`},
		{"bad matcher", base + "routes:\n  - hostgroup: a\n    matchers: ['severity=~\"(\"']\n    receivers: [a]\n", "cfg.yml:7: routes[0].matchers[0]: error parsing regexp: missing closing ): `^(?:()$`"},
		{"route without receivers", base + "routes:\n  - hostgroup: a\n", "cfg.yml:6: routes[0].receivers: at least one receiver is required"},
		{"duplicate receiver", "receivers:\n  - name: a\n    log: {}\n  - name: a\n    log: {}\ndefault_receivers: [a]\n", `cfg.yml:4: receivers[1].name: duplicate receiver name "a"`},
		{"unknown integration", "receivers:\n  - name: a\n    slakc: {}\ndefault_receivers: [a]\n", "cfg.yml:3: receivers[0].slakc: field slakc not found in type config.Receiver (name and one of log, webhook, slack, email, aliyun_cms, dingtalk, wecom, feishu)"},
		{"receiver without integration", "receivers:\n  - name: a\ndefault_receivers: [a]\n", `cfg.yml:2: receivers[0]: receiver "a" needs exactly one of log, webhook, slack, email, aliyun_cms, dingtalk, wecom, feishu, has 0`},
		{"receiver with two integrations", "receivers:\n  - name: a\n    log: {}\n    webhook: {url: 'http://x'}\ndefault_receivers: [a]\n", `cfg.yml:2: receivers[0]: receiver "a" needs exactly one of log, webhook, slack, email, aliyun_cms, dingtalk, wecom, feishu, has 2`},
		{"webhook without url", "receivers:\n  - name: a\n    webhook: {max_alerts: 1}\ndefault_receivers: [a]\n", "cfg.yml:3: receivers[0].webhook.url: one of url or url_file is required"},
		{"webhook bad scheme", "receivers:\n  - name: a\n    webhook:\n      url: 'ftp://secret@host/x'\ndefault_receivers: [a]\n", "cfg.yml:4: receivers[0].webhook.url: scheme must be http or https"},
		{"webhook body template that does not parse", "receivers:\n  - name: a\n    webhook:\n      url: 'http://x'\n      body: '{\"text\": {{ .Status }'\ndefault_receivers: [a]\n",
			`cfg.yml:5: receivers[0].webhook.body: template: :1: unexpected "}" in operand`},
		{"webhook header template that fails", "receivers:\n  - name: a\n    webhook:\n      url: 'http://x'\n      headers:\n        X-Ok: ok\n        X-Foo: '{{ template \"no.such\" . }}'\ndefault_receivers: [a]\n",
			`cfg.yml:7: receivers[0].webhook.headers.X-Foo: template: :1:12: executing "" at <{{template "no.such" .}}>: template "no.such" not defined`},
		{"webhook Authorization header with a bearer token", "receivers:\n  - name: a\n    webhook:\n      url: 'http://x'\n      bearer_token: t\n      headers:\n        Authorization: 'Basic x'\ndefault_receivers: [a]\n",
			"cfg.yml:7: receivers[0].webhook.headers.Authorization: conflicts with bearer_token, which sets Authorization"},
		{"retention below repeat", "global:\n  retention: 1h\n" + base, "cfg.yml:2: global.retention: must be longer than repeat_interval (4h)"},
		{"retention below max_retry_age", "global:\n  retention: 10h\n  max_retry_age: 12h\n" + base, "cfg.yml:2: global.retention: must be longer than max_retry_age (12h)"},
		{"bad timezone", "global:\n  timezone: Mars/Olympus\n" + base, `cfg.yml:2: global.timezone: unknown time zone "Mars/Olympus" (use Local, UTC or a name such as Asia/Shanghai)`},
		{"template that does not parse", "templates: ['testdata/broken.tmpl']\n" + base, `cfg.yml:1: templates: template: broken.tmpl:3: unexpected "{" in operand`},
		{"empty hostgroup label", "global:\n  hostgroup_label: ''\n" + base, `cfg.yml:2: global.hostgroup_label: "" is not a valid label name`},
		{"two auths", "webhook:\n  bearer_token: x\n  basic_auth: {username: u, password: p}\n" + base, "cfg.yml:3: webhook.basic_auth: basic_auth and a bearer token are mutually exclusive"},
		{"basic auth without password", "webhook:\n  basic_auth:\n    username: u\n" + base, "cfg.yml:2: webhook.basic_auth.password: one of password or password_file is required"},
		{"zero body limit", "webhook:\n  max_body_bytes: 0\n" + base, "cfg.yml:2: webhook.max_body_bytes: must be positive"},
		{"watchdog without receivers", base + "watchdog:\n  heartbeat: {}\n", "cfg.yml:5: watchdog.receivers: at least one receiver is required: watchdog events go there"},
		{"watchdog unknown receiver", base + "watchdog:\n  receivers: [cms]\n  heartbeat: {}\n", `cfg.yml:6: watchdog.receivers[0]: unknown receiver "cms"`},
		{"watchdog with nothing to watch", base + "watchdog:\n  receivers: [a]\n", "cfg.yml:5: watchdog: nothing to watch: add prometheus, alertmanager or heartbeat"},
		{"watchdog bad url", base + "watchdog:\n  receivers: [a]\n  prometheus:\n    - name: p\n      url: 127.0.0.1:9090\n", "cfg.yml:9: watchdog.prometheus[0].url: want an http:// or https:// URL, such as http://127.0.0.1:9090"},
		{"watchdog url with a query", base + "watchdog:\n  receivers: [a]\n  prometheus:\n    - name: p\n      url: http://prom:9090/?x=1\n", "cfg.yml:9: watchdog.prometheus[0].url: want the server's base URL, without query or fragment; a path prefix (for --web.route-prefix) is fine"},
		{"watchdog duplicate target", base + "watchdog:\n  receivers: [a]\n  prometheus:\n    - {name: p, url: 'http://a:9090'}\n  alertmanager:\n    - {name: p, url: 'http://a:9093'}\n", `cfg.yml:10: watchdog.alertmanager[0].name: duplicate target name "p"`},
		{"watchdog critical before warning", base + "watchdog:\n  receivers: [a]\n  warning_after: 5m\n  critical_after: 1m\n  heartbeat: {}\n", "cfg.yml:8: watchdog.critical_after: must not be shorter than warning_after (5m)"},
		{"watchdog interval too short", base + "watchdog:\n  receivers: [a]\n  interval: 100ms\n  heartbeat: {}\n", "cfg.yml:7: watchdog.interval: must be at least 1s"},
		{"heartbeat timeout too short", base + "watchdog:\n  receivers: [a]\n  heartbeat:\n    timeout: 30s\n", "cfg.yml:8: watchdog.heartbeat.timeout: must be at least 1m: Prometheus resends the heartbeat every minute at best"},
		{"bad receiver timeouts", "receivers:\n  - name: a\n    slack:\n      webhook_url: 'https://hooks.slack.com/services/T0/B0/x'\n      timeout: soon\n  - name: b\n    webhook:\n      url: 'http://x'\n      timeout: 1 minute\ndefault_receivers: [a]\n",
			"cfg.yml:5: receivers[0].slack.timeout: \"soon\" is not a duration (like 30s, 5m, 4h or 7d)\n" +
				"cfg.yml:9: receivers[1].webhook.timeout: \"1 minute\" is not a duration (like 30s, 5m, 4h or 7d)"},
		{"watchdog unknown field", base + "watchdog:\n  reciever: [a]\n", "cfg.yml:6: watchdog.reciever: field reciever not found in type config.Watchdog"},
		{"alertmanager without url", base + "alertmanagers:\n  - name: am-a\n", "cfg.yml:6: alertmanagers[0].url: want an http:// or https:// URL, such as http://alertmanager:9093"},
		{"alertmanager twice", base + "alertmanagers:\n  - {name: am, url: 'http://a:9093'}\n  - {name: am, url: 'http://b:9093'}\n", `cfg.yml:7: alertmanagers[1].name: duplicate Alertmanager name "am"`},
		{"alertmanager two auths", base + "alertmanagers:\n  - name: am\n    url: 'http://a:9093'\n    bearer_token: x\n    basic_auth: {username: u, password: p}\n", "cfg.yml:9: alertmanagers[0].basic_auth: basic_auth and a bearer token are mutually exclusive"},
		{"alertmanager credentials in url", base + "alertmanagers:\n  - {name: am, url: 'http://u:s3cr3t@a:9093'}\n", "cfg.yml:6: alertmanagers[0].url: has credentials, which would show wherever the URL does: use basic_auth or bearer_token_file"},
		{"alertmanager bad proxy", base + "alertmanagers:\n  - {name: am, url: 'http://a:9093', proxy_url: 'ftp://p'}\n", "cfg.yml:6: alertmanagers[0].proxy_url: want an http://, https:// or socks5:// URL with a host"},
		{"watchdog names an unknown alertmanager", base + "alertmanagers:\n  - {name: am-a, url: 'http://a:9093'}\nwatchdog:\n  receivers: [a]\n  alertmanager:\n    - {name: am-b}\n", "cfg.yml:10: watchdog.alertmanager[0].url: is required, unless name is one of alertmanagers"},
		{"watchdog names an alertmanager", base + "alertmanagers:\n  - {name: am-a, url: 'http://a:9093'}\nwatchdog:\n  receivers: [a]\n  alertmanager:\n    - {name: am-a}\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load([]byte(tt.yaml), "cfg.yml")
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("loaded, want error %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Fatalf("error\n got: %s\nwant: %s", err, tt.want)
			}
		})
	}
}

// Errors about a webhook URL must not quote it: it may carry a token.
func TestErrorsDoNotQuoteSecrets(t *testing.T) {
	_, err := Load([]byte("receivers:\n  - name: a\n    webhook:\n      url: 'gopher://tok3n@example.com'\ndefault_receivers: [a]\n"), "cfg.yml")
	if err == nil || strings.Contains(err.Error(), "tok3n") {
		t.Fatalf("error = %v", err)
	}
}

func TestSecretsDoNotMarshal(t *testing.T) {
	c, err := Load([]byte("webhook:\n  bearer_token: s3cr3t\nreceivers:\n  - name: a\n    webhook:\n      url: 'https://hooks.example.com/T0/s3cr3t'\n      bearer_token: s3cr3t\ndefault_receivers: [a]\n"), "cfg.yml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "s3cr3t") || !strings.Contains(string(b), "<secret>") {
		t.Fatalf("marshalled config leaks or hides nothing:\n%s", b)
	}
}

func TestWarningsNameUnreadableSecretFiles(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "token")
	if err := os.WriteFile(ok, []byte("t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load([]byte("webhook:\n  bearer_token_file: "+ok+"\nreceivers:\n  - name: a\n    webhook:\n      url_file: "+filepath.Join(dir, "missing")+"\ndefault_receivers: [a]\n"), "cfg.yml")
	if err != nil {
		t.Fatal(err)
	}
	w := c.Warnings()
	if len(w) != 1 || !strings.HasPrefix(w[0], "receivers[0].webhook.url_file: read secret file: open ") {
		t.Fatalf("warnings = %q", w)
	}
}

// Every YAML example in the README loads: the snippets users copy must be valid. A snippet
// that shows only receivers gets a default_receivers line naming its first one.
func TestREADMEExamplesLoad(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(readme), "```yaml\n")[1:]
	checked := 0
	for _, b := range blocks {
		y := b[:strings.Index(b, "```")]
		if strings.HasPrefix(y, "web:") {
			y = "receivers:\n  - name: ops\n    log: {}\n" + y
		}
		if !strings.Contains(y, "receivers:") {
			continue
		}
		if strings.HasPrefix(y, "watchdog:") {
			// A watchdog snippet: declare the log receivers it names.
			m := regexp.MustCompile(`receivers: \[([^\]]*)\]`).FindStringSubmatch(y)
			var decl []string
			for _, name := range strings.Split(m[1], ",") {
				decl = append(decl, "  - name: "+strings.TrimSpace(name)+"\n    log: {}\n")
			}
			y = "receivers:\n" + strings.Join(decl, "") + y
		}
		if !strings.Contains(y, "default_receivers:") {
			name := strings.Fields(y[strings.Index(y, "- name:")+len("- name:"):])[0]
			y += "default_receivers: [" + name + "]\n"
		}
		if _, err := Load([]byte(y), "README.md"); err != nil {
			t.Errorf("README example does not load: %v\n%s", err, y)
		}
		checked++
	}
	if checked < 4 {
		t.Fatalf("checked %d README examples, want the config reference and one per receiver", checked)
	}
}

func TestHeartbeatSource(t *testing.T) {
	for _, tc := range []struct {
		labels map[string]string
		want   string
	}{
		{map[string]string{"prometheus": "monitoring/prom-a", "replica": "b"}, "monitoring/prom-a"},
		{map[string]string{"replica": "b"}, "b"},
		{map[string]string{}, "http://am:9093"},
	} {
		if got := HeartbeatSource(tc.labels, "http://am:9093"); got != tc.want {
			t.Errorf("HeartbeatSource(%v) = %q, want %q", tc.labels, got, tc.want)
		}
	}
}

// Any file, however broken, loads or fails with an error that names the file and a
// line; it never panics.
func FuzzLoad(f *testing.F) {
	for _, file := range []string{"testdata/issue.yml", "default.yml", "../examples/alertrouter.yml"} {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("receivers:\n  - name: a\n    slack: {webhook_url: 'https://x/y', timeout: soon}\ndefault_receivers: [a]\n"))
	f.Add([]byte("receivers: [{name: a, log: {}, webhook: {}}]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Load(b, "cfg.yml")
		if err != nil {
			if !regexp.MustCompile(`^cfg\.yml:[1-9][0-9]*: `).MatchString(err.Error()) {
				t.Fatalf("error does not name the file and a line: %v", err)
			}
			return
		}
		if _, err := yaml.Marshal(c); err != nil {
			t.Fatalf("a loaded config does not marshal: %v", err)
		}
	})
}

func TestWarningsNameTemplateGlobsThatMatchNothing(t *testing.T) {
	c, err := Load([]byte("templates: ['testdata/*.ok.tmpl', 'testdata/typo/*.tmpl']\nreceivers:\n  - {name: a, log: {}}\ndefault_receivers: [a]\n"), "cfg.yml")
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 1 || w[0] != `templates[1]: "testdata/typo/*.tmpl" matches no file` {
		t.Fatalf("warnings = %q", w)
	}
}
