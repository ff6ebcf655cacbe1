package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alertrouter/alertrouter/internal/testenv"
)

// `alertrouter ack` acknowledges on a running alertrouter, through its API and its token:
// by matchers or by fingerprint, once (a second time names the first), and says so when
// nothing matches or the token is missing.
func TestAckCommand(t *testing.T) {
	dir, addr := t.TempDir(), testenv.FreeAddr(t)
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("ops-bot-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	startRouter(t, dir, addr, `
receivers:
  - name: ops
    log: {}
default_receivers: [ops]
web:
  api_tokens:
    - {name: ops-bot, token_file: `+token+`, role: operator}
`)
	if _, code := postBurst(addr, "", 0, 2, func(i, j int) (string, string) { return []string{"pay-1", "gpu-1"}[j], []string{"pay", "gpu"}[j] }); code != http.StatusOK {
		t.Fatalf("webhook: %d", code)
	}
	flags := []string{"--alertrouter.url=http://" + addr, "--alertrouter.token-file=" + token}
	code, stdout, stderr := runCLI(t, append([]string{"ack", "--author=alice", "--comment=on it", `instance="pay-1"`}, flags...)...)
	if code != 0 || !strings.HasPrefix(stdout, "acknowledged ") || !strings.Contains(stdout, " Burst (firing since ") || !strings.Contains(stdout, "by alice") || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("ack by matchers: %d\n%s%s", code, stdout, stderr)
	}
	fp := strings.Fields(stdout)[1]
	code, stdout, stderr = runCLI(t, append([]string{"ack", "--author=bob", fp}, flags...)...)
	if code != 0 || !strings.HasPrefix(stdout, "already acknowledged "+fp) || !strings.Contains(stdout, "by alice") {
		t.Fatalf("ack by fingerprint, again: %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := runCLI(t, append([]string{"ack", `instance="nowhere"`}, flags...)...); code != 1 || !strings.Contains(stderr, "no firing alert matches") {
		t.Errorf("nothing matching: %d %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "ack", "--alertrouter.url=http://"+addr, fp); code != 1 || !strings.Contains(stderr, "401") {
		t.Errorf("without the token: %d %s", code, stderr)
	}
}
