package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/alertrouter/alertrouter/internal/testenv"
)

// binaryDir holds alertrouter built once, at first use, for the tests that run it as a
// process; -short skips those tests and the build.
var (
	binaryDir  string
	buildOnce  sync.Once
	binaryPath string
	buildErr   error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "alertrouter-test-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binaryDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// binary returns the built alertrouter.
func binary(t testing.TB) string {
	t.Helper()
	testenv.SkipShort(t)
	buildOnce.Do(func() {
		binaryPath = filepath.Join(binaryDir, "alertrouter")
		out, err := exec.Command("go", "build", "-o", binaryPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build alertrouter: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binaryPath
}

// startRouter runs alertrouter serve with the config text in dir.
func startRouter(t *testing.T, dir, addr, cfg string) *testenv.Process {
	t.Helper()
	return startRouterOn(t, dir, addr, cfg, "--storage.path="+filepath.Join(dir, "data"))
}

// startRouterOn starts a router on the storage its flag names: a replica, with
// --storage.url.
func startRouterOn(t *testing.T, dir, addr, cfg, storageFlag string) *testenv.Process {
	t.Helper()
	cfgFile := filepath.Join(dir, "alertrouter.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := testenv.Start(t, dir, binary(t), "serve", "--config.file="+cfgFile, "--web.listen-address="+addr,
		storageFlag, "--log.level=debug")
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
