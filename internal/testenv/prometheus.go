package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// StartPrometheus runs Debian's prometheus on addr with the config text and its data
// in dir, and waits until it is ready. Starting it again on the same dir is a restart:
// it replays its WAL and reports a new start time.
func StartPrometheus(t testing.TB, dir, addr, config string) *Process {
	t.Helper()
	bin := RequireCommand(t, "prometheus")
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	p := Start(t, dir, bin, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--web.enable-lifecycle", "--log.level=warn",
		// Firing alerts are resent every minute by default; tests cannot wait that long.
		"--rules.alert.resend-delay=2s")
	WaitReady(t, p, "http://"+addr+"/-/ready")
	return p
}
