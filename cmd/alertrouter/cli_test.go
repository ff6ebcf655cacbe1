package main

import (
	"bytes"
	"database/sql"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/alertrouter/alertrouter/internal/pgtest"
	"github.com/alertrouter/alertrouter/receivers/dingtalk/dingtalktest"
	"github.com/alertrouter/alertrouter/receivers/feishu/feishutest"
	"github.com/alertrouter/alertrouter/receivers/receivertest"
	"github.com/alertrouter/alertrouter/receivers/webhook/webhooktest"
	"github.com/alertrouter/alertrouter/receivers/wecom/wecomtest"
	"github.com/alertrouter/alertrouter/store"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestConfigCheck(t *testing.T) {
	code, out, _ := runCLI(t, "config", "check", "--config.file=../../config/testdata/issue.yml")
	if code != 0 || out != "SUCCESS: ../../config/testdata/issue.yml is valid: 2 receivers, 2 routes, default receivers [ops-log]\n" {
		t.Fatalf("valid config: %d %q", code, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.yml")
	if err := os.WriteFile(bad, []byte("receivers:\n  - name: a\n    log: {}\nroutes:\n  - hostgroup_regex: 'gpu-('\n    receivers: [a]\ndefault_receivers: [a]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "config", "check", "--config.file="+bad)
	want := "FAILED: " + bad + ":5: routes[0].hostgroup_regex: error parsing regexp: missing closing ): `^(?:gpu-()$`\n"
	if code != 1 || errOut != want {
		t.Fatalf("invalid config: %d\n got %q\nwant %q", code, errOut, want)
	}
	if code, _, errOut := runCLI(t, "config", "check"); code != 2 || !strings.Contains(errOut, "required flag(s) '--config.file' not provided") {
		t.Fatalf("missing flag: %d %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "config", "check", "--config.file=/nonexistent.yml"); code != 1 || !strings.Contains(errOut, "no such file") {
		t.Fatalf("missing file: %d %q", code, errOut)
	}
}

func TestRouteTest(t *testing.T) {
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"hostgroup=fg-ng-ec-microloan", "severity=critical", "alertname=X"}, 0,
			"route:     routes[0]\nreceiver:  pay-hook (via routes[0])\n"},
		{[]string{"hostgroup=gpu-a100", "severity=critical", "alertname=X"}, 0,
			"route:     routes[1]\nreceiver:  ops-log (via routes[1])\nreceiver:  pay-hook (via routes[1])\n"},
		{[]string{"alertname=X"}, 0, "route:     default (no hostgroup)\nreceiver:  ops-log (via default)\n"},
		{[]string{"hostgroup=web", "alertname=X", "--verify.receivers=pay-hook"}, 1, "route:     default (no route)\nreceiver:  ops-log (via default)\n"},
		{[]string{"hostgroup=gpu-1", "severity=critical", "--verify.receivers=pay-hook,ops-log"}, 0,
			"route:     routes[1]\nreceiver:  ops-log (via routes[1])\nreceiver:  pay-hook (via routes[1])\n"},
		{[]string{"hostgroup=~gpu"}, 2, ""},
	}
	for _, tt := range tests {
		args := append([]string{"route", "test", "--config.file=../../config/testdata/issue.yml"}, tt.args...)
		code, out, errOut := runCLI(t, args...)
		if code != tt.code || out != tt.out {
			t.Errorf("%v: %d %q %q\nwant %d %q", tt.args, code, out, errOut, tt.code, tt.out)
		}
	}
}

// The heartbeat goes nowhere, and route test says so rather than naming a receiver.
func TestRouteTestHeartbeat(t *testing.T) {
	code, out, errOut := runCLI(t, "route", "test", "--config.file=../../examples/alertrouter.yml", "alertname=Watchdog", "hostgroup=monitoring")
	want := "heartbeat: Watchdog is the watchdog's heartbeat: recorded for the dead-man's switch, delivered to no receiver\n"
	if code != 0 || out != want {
		t.Fatalf("route test alertname=Watchdog: %d %q %q\nwant 0 %q", code, out, errOut, want)
	}
	if code, _, _ := runCLI(t, "route", "test", "--config.file=../../examples/alertrouter.yml", "--verify.receivers=ops-log", "alertname=Watchdog"); code != 1 {
		t.Fatalf("verify.receivers for a heartbeat: exit %d, want 1 (it reaches none)", code)
	}
}

func TestMigrateRefusesNewerDatabase(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runCLI(t, "migrate", "--storage.path="+dir); code != 0 || !strings.Contains(errOut, "Database is up to date") {
		t.Fatalf("migrate: %d %s", code, errOut)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (99, 1)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, _, errOut := runCLI(t, "migrate", "--storage.path="+dir)
	if code != 1 || !strings.Contains(errOut, "database schema is newer than this binary (database version 99") {
		t.Fatalf("newer database: %d %s", code, errOut)
	}
	// serve refuses it the same way, before listening.
	code, _, errOut = runCLI(t, "serve", "--storage.path="+dir, "--web.listen-address=127.0.0.1:0")
	if code != 1 || !strings.Contains(errOut, "database schema is newer than this binary") {
		t.Fatalf("serve on a newer database: %d %s", code, errOut)
	}
}

func TestVersionAndUsage(t *testing.T) {
	code, out, _ := runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(out, "alertrouter, version ") || !strings.Contains(out, "go version:       go1.") || !strings.Contains(out, "revision:") {
		t.Fatalf("version: %d %q", code, out)
	}
	if code, _, errOut := runCLI(t, "--bogus"); code != 2 || !strings.Contains(errOut, "unknown long flag '--bogus'") {
		t.Fatalf("bad flag: %d %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "--log.format=xml", "version"); code != 2 || !strings.Contains(errOut, "xml") {
		t.Fatalf("bad log format: %d %q", code, errOut)
	}
	if code, out, _ := runCLI(t, "--help"); code != 0 || !strings.Contains(out, "--web.listen-address") && !strings.Contains(out, "serve") {
		t.Fatalf("--help: %d %q", code, out)
	}
}

// send-test prints the destination's answer, never the secrets it echoes.
func TestSendTestLeaksNoSecret(t *testing.T) {
	echo := receivertest.Echo(t)
	cfg := filepath.Join(t.TempDir(), "cfg.yml")
	hook := echo.URL + "/hook/p4thT0kenp4thT0ken?token=qu3ryT0ken"
	os.WriteFile(cfg, []byte("receivers:\n  - name: hook\n    webhook: {url: '"+hook+"', bearer_token: b3arerT0ken}\ndefault_receivers: [hook]\n"), 0o600)
	code, out, errOut := runCLI(t, "send-test", "--config.file="+cfg, "--receiver=hook")
	if code != 1 || !strings.Contains(errOut, "FAILED (permanent, would not be retried): unexpected status code 404: Cannot POST <redacted>") {
		t.Fatalf("send-test to an echoing server: %d %q %q", code, out, errOut)
	}
	receivertest.NoSecrets(t, "send-test output", out+errOut, "p4thT0ken", "qu3ryT0ken", "b3arerT0ken")
}

func TestSendTest(t *testing.T) {
	ok := webhooktest.New(t)
	broken := webhooktest.New(t)
	broken.Script(func(w http.ResponseWriter) { http.Error(w, "nope", http.StatusUnauthorized) })
	cfg := filepath.Join(t.TempDir(), "cfg.yml")
	os.WriteFile(cfg, []byte("receivers:\n  - name: hook\n    webhook: {url: '"+ok.URL()+"'}\n  - name: broken\n    webhook: {url: '"+broken.URL()+"'}\ndefault_receivers: [hook]\n"), 0o600)

	code, out, errOut := runCLI(t, "send-test", "--config.file="+cfg, "--receiver=hook", "--status=resolved")
	got := ok.Payloads()
	if code != 0 || out != "OK: hook accepted a resolved test notification\n" || len(got) != 1 ||
		got[0].Alerts[0].Labels["alertname"] != "AlertrouterSendTest" || got[0].Status != "resolved" {
		t.Fatalf("send-test hook: %d %q %q, received %+v", code, out, errOut, got)
	}
	code, _, errOut = runCLI(t, "send-test", "--config.file="+cfg, "--receiver=broken")
	if code != 1 || errOut != "FAILED (permanent, would not be retried): unexpected status code 401: nope\n" {
		t.Fatalf("send-test broken: %d %q", code, errOut)
	}
	code, _, errOut = runCLI(t, "send-test", "--config.file="+cfg, "--receiver=nobody")
	if code != 1 || errOut != "FAILED: no receiver named \"nobody\" in the config\n" {
		t.Fatalf("send-test unknown: %d %q", code, errOut)
	}
}

// send-test works for the IM robots: each answers errcode 0 only for a message signed
// right, and a refusal says which setting to check.
func TestSendTestToTheRobots(t *testing.T) {
	ding, wecom, feishu := dingtalktest.New(t), wecomtest.New(t), feishutest.New(t)
	ding.SetSecret("SECding")
	feishu.SetSecret("feishu-secret")
	cfg := filepath.Join(t.TempDir(), "cfg.yml")
	os.WriteFile(cfg, []byte(`receivers:
  - name: ding
    dingtalk: {webhook_url: '`+ding.URL()+`', secret: SECding}
  - name: ding-wrong-secret
    dingtalk: {webhook_url: '`+ding.URL()+`', secret: SECother}
  - name: wecom
    wecom: {webhook_url: '`+wecom.URL()+`'}
  - name: feishu
    feishu: {webhook_url: '`+feishu.URL()+`', secret: feishu-secret}
default_receivers: [ding]
`), 0o600)
	for _, name := range []string{"ding", "wecom", "feishu"} {
		code, out, errOut := runCLI(t, "send-test", "--config.file="+cfg, "--receiver="+name)
		if code != 0 || out != "OK: "+name+" accepted a firing test notification\n" {
			t.Errorf("send-test %s: %d %q %q", name, code, out, errOut)
		}
	}
	if len(ding.Messages()) != 1 || len(wecom.Messages()) != 1 || len(feishu.Messages()) != 1 {
		t.Fatalf("messages: dingtalk %d, wecom %d, feishu %d; want one each", len(ding.Messages()), len(wecom.Messages()), len(feishu.Messages()))
	}
	if got := ding.Messages()[0].Content(); !strings.Contains(got, "AlertrouterSendTest") || !strings.Contains(got, "【告警】") {
		t.Errorf("dingtalk message: %q", got)
	}
	code, out, errOut := runCLI(t, "send-test", "--config.file="+cfg, "--receiver=ding-wrong-secret")
	if code != 1 || !strings.Contains(errOut, "FAILED (permanent, would not be retried): dingtalk answered code 310000") ||
		!strings.Contains(errOut, "signing secret") {
		t.Fatalf("send-test with a wrong secret: %d %q %q", code, out, errOut)
	}
	receivertest.NoSecrets(t, "send-test output", out+errOut, "SECding", "SECother", dingtalktest.Token)
}

// The PostgreSQL flags: --storage.url or --storage.url-file, never with --storage.path;
// migrate works on PostgreSQL, backup refuses it and names pg_dump.
func TestStorageURLFlags(t *testing.T) {
	url := pgtest.New(t)
	urlFile := filepath.Join(t.TempDir(), "db_url")
	if err := os.WriteFile(urlFile, []byte(url+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "migrate", "--storage.url-file="+urlFile); code != 0 || !strings.Contains(errOut, "Database is up to date") {
		t.Fatalf("migrate on PostgreSQL: %d %q", code, errOut)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"migrate", "--storage.url=" + url, "--storage.path=" + t.TempDir()}, "--storage.path and --storage.url are mutually exclusive"},
		{[]string{"migrate", "--storage.url=" + url, "--storage.url-file=" + urlFile}, "--storage.url and --storage.url-file are mutually exclusive"},
		{[]string{"backup", "--storage.url=" + url, filepath.Join(t.TempDir(), "copy.db")}, "pg_dump"},
		{[]string{"migrate", "--storage.url=postgres://alertrouter:s3cretpw@127.0.0.1:1/db?connect_timeout=1"}, "connect"},
		{[]string{"migrate", "--storage.url=postgres://alertrouter@127.0.0.1:1/db?password=s3cretpw&sslpassword=s3cretpw&connect_timeout=1"}, "connect"},
	} {
		code, _, errOut := runCLI(t, tc.args...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: %d %q, want an error saying %q", tc.args, code, errOut, tc.want)
		}
		receivertest.NoSecrets(t, "error", errOut, "s3cretpw")
	}
}
