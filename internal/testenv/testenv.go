// Package testenv finds the external programs and free ports that integration tests
// need: Prometheus, Alertmanager and promtool from the Debian packages.
package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

// SkipShort skips a test that starts processes or runs for long when the tests run with
// -short, the fast loop for developers; CI runs everything.
func SkipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped with -short: starts processes")
	}
}

// RequireCommand finds an external program a test needs. Without it the test skips,
// unless ALERTROUTER_REQUIRE_INTEGRATION is set (CI), where it fails. With -short it
// skips: such tests start processes.
func RequireCommand(t testing.TB, name string) string {
	t.Helper()
	SkipShort(t)
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	Missing(t, fmt.Sprintf("%s not installed (apt-get install prometheus prometheus-alertmanager)", name))
	return ""
}

// Missing skips a test whose dependency is missing, saying why, or fails it when
// ALERTROUTER_REQUIRE_INTEGRATION is set: CI must run every integration test.
func Missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("ALERTROUTER_REQUIRE_INTEGRATION") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Eventually polls cond until it holds, failing the test after timeout.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
