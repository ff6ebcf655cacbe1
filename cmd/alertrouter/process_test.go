package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alertrouter/alertrouter/internal/testenv"
)

// binary is alertrouter built once for the tests that run it as a process.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "alertrouter-test-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "alertrouter")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build alertrouter:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startRouter runs alertrouter serve with the config text in dir.
func startRouter(t *testing.T, dir, addr, cfg string) *testenv.Process {
	t.Helper()
	cfgFile := filepath.Join(dir, "alertrouter.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := testenv.Start(t, dir, binary, "serve", "--config.file="+cfgFile, "--web.listen-address="+addr,
		"--storage.path="+filepath.Join(dir, "data"), "--log.level=debug")
	testenv.WaitReady(t, p, "http://"+addr+"/-/ready")
	return p
}

// metric reads one sample of the router's /metrics, summing over label sets that contain match.
func metric(t *testing.T, addr, name, match string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var sum float64
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, name) || !strings.Contains(line, match) {
			continue
		}
		rest := strings.TrimPrefix(line, name)
		if rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		var v float64
		if _, err := fmt.Sscanf(rest[strings.LastIndex(rest, " ")+1:], "%g", &v); err == nil {
			sum += v
		}
	}
	return sum
}
