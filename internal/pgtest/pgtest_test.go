package pgtest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alertrouter/alertrouter/internal/testenv"
)

// psql runs sql on the database at url, without a Go driver, and returns what it printed.
func psql(t *testing.T, url, sql string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(newestBinDir(binGlob), "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql, url)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func mustPSQL(t *testing.T, url, sql string) string {
	t.Helper()
	out, err := psql(t, url, sql)
	if err != nil {
		t.Fatalf("psql %q: %v\n%s", sql, err, out)
	}
	return out
}

// TestNewDatabasesAreIndependent runs first so that it times the New that runs initdb.
func TestNewDatabasesAreIndependent(t *testing.T) {
	var urls []string
	for i := range 3 {
		start := time.Now()
		urls = append(urls, New(t))
		which := "later New"
		if i == 0 {
			which = "first New (includes initdb if no test ran before)"
		}
		t.Logf("%s: %s", which, time.Since(start).Round(time.Millisecond))
	}
	a, b := urls[0], urls[1]
	if a == b {
		t.Fatalf("two New calls returned the same URL %s", a)
	}
	mustPSQL(t, a, "CREATE TABLE only_in_a (x int); INSERT INTO only_in_a VALUES (1)")
	if got := mustPSQL(t, a, "SELECT count(*) FROM only_in_a"); got != "1" {
		t.Fatalf("count in a = %q, want 1", got)
	}
	if got := mustPSQL(t, b, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"); got != "0" {
		t.Fatalf("b has %s tables, want a fresh empty database", got)
	}
	if got := mustPSQL(t, b, "SELECT current_user || ' ' || current_database()"); got != "postgres test" {
		t.Fatalf("b: user and database = %q", got)
	}
}

func TestServerStopStart(t *testing.T) {
	t.Parallel() // with the other parallel tests: servers do not clash
	s := Start(t)
	url := s.URL("postgres")
	if got := mustPSQL(t, url, "SELECT 1"); got != "1" {
		t.Fatalf("select 1 = %q", got)
	}
	mustPSQL(t, url, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)")

	s.Stop(t)
	if out, err := psql(t, url, "SELECT 1"); err == nil {
		t.Fatalf("psql succeeded on a stopped server: %s", out)
	}

	start := time.Now()
	s.Start(t)
	t.Logf("restart on the same data directory: %s", time.Since(start).Round(time.Millisecond))
	if got := mustPSQL(t, url, "SELECT x FROM kept"); got != "42" {
		t.Fatalf("after restart, kept = %q, want 42", got)
	}
	s.CreateDatabase(t, "other")
	if got := mustPSQL(t, s.URL("other"), "SELECT current_database()"); got != "other" {
		t.Fatalf("current_database = %q", got)
	}
}

func TestCleanupStopsServerAndRemovesFiles(t *testing.T) {
	var s *Server
	var pid int
	t.Run("server", func(t *testing.T) {
		s = Start(t)
		pid = s.cmd.Process.Pid
	})
	if s == nil || pid == 0 {
		t.Skip("no server started")
	}
	if alive(pid) {
		t.Errorf("postgres %d still running after its test ended", pid)
	}
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("%s still there after its test ended: %v", s.dir, err)
	}
}

// TestServerDiesWithTestBinary kills a test binary that runs a server, as a timeout or
// kill -9 would, and checks that postgres goes too and that sweep removes its files.
func TestServerDiesWithTestBinary(t *testing.T) {
	if os.Getenv("ALERTROUTER_PGTEST_HELPER") != "" {
		s := Start(t)
		fmt.Printf("server %d %s\n", s.cmd.Process.Pid, s.dir)
		time.Sleep(time.Minute) // killed by the parent test
		return
	}
	t.Parallel()
	Start(t) // skips like any test here, and makes this binary's root for sweep to keep
	child := exec.Command(os.Args[0], "-test.run=^TestServerDiesWithTestBinary$", "-test.v")
	child.Env = append(os.Environ(), "ALERTROUTER_PGTEST_HELPER=1")
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Wait()
	defer child.Process.Kill()
	var pid int
	var dir string
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if f := strings.Fields(lines.Text()); len(f) == 3 && f[0] == "server" {
			pid, _ = strconv.Atoi(f[1])
			dir = f[2]
			break
		}
		t.Log(lines.Text())
	}
	if pid == 0 {
		t.Fatal("helper test binary printed no server")
	}
	t.Cleanup(func() { // when this test fails, do not leave the stray behind
		if alive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, fmt.Sprintf("postgres %d to exit after its test binary died", pid), func() bool { return !alive(pid) })

	sweep()
	if _, err := os.Stat(filepath.Dir(dir)); !os.IsNotExist(err) {
		t.Errorf("sweep left %s of a dead test binary: %v", filepath.Dir(dir), err)
	}
	if _, err := os.Stat(environment.root); err != nil {
		t.Errorf("sweep removed the root of this running binary: %v", err)
	}
}

// alive reports whether pid runs; a zombie (exited, not yet reaped by init) does not.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
	return !strings.HasPrefix(strings.TrimSpace(rest), "Z")
}

func TestNewestBinDir(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"9.6", "15", "16", "17"} {
		bin := filepath.Join(root, v, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		if v != "17" { // a version with only client programs
			if err := os.WriteFile(filepath.Join(bin, "postgres"), nil, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	pattern := filepath.Join(root, "*", "bin")
	if got, want := newestBinDir(pattern), filepath.Join(root, "16", "bin"); got != want {
		t.Errorf("newestBinDir = %s, want %s", got, want)
	}
	if got := newestBinDir(filepath.Join(t.TempDir(), "*", "bin")); got != "" {
		t.Errorf("newestBinDir with nothing installed = %q, want empty", got)
	}
}
