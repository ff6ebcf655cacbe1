// Package pgtest starts real PostgreSQL servers for tests. Each server is private to one
// test: its own data directory, a unix socket in that directory and no TCP port, so
// tests run in parallel and may stop and restart their server. It uses Debian's
// postgresql package, whose programs live in /usr/lib/postgresql/N/bin, off PATH.
//
// initdb runs once per test binary into a template; each server starts on a copy of it.
// The files live in /dev/shm when it has room (see baseDir), else in os.TempDir().
//
// When the tests run as root (CI), initdb and postgres run as the user postgres through
// SysProcAttr.Credential, not runuser: runuser would stay postgres's parent, drops
// SIGINT and SIGQUIT (so no fast or immediate shutdown) and dies alone on SIGKILL. As a
// direct child, postgres gets Pdeathsig SIGQUIT (immediate shutdown) when the test
// binary dies, even by SIGKILL (strictly: when the OS thread that started it ends, and
// Go ends threads only for goroutines that exit locked to one). Setpgid keeps a
// terminal's ^C away from it until the test's cleanup, which kills its process group.
package pgtest

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/alertrouter/alertrouter/internal/testenv"
)

// binGlob finds Debian's PostgreSQL installations, one directory per major version.
const binGlob = "/usr/lib/postgresql/*/bin"

// port is PostgreSQL's default; each server has its own socket directory, so all
// share it. It is passed explicitly so a PGPORT in the environment changes nothing.
const port = "5432"

// startTimeout bounds the wait for a server to accept connections, and for one to stop.
const startTimeout = 30 * time.Second

// New starts a server private to t and returns a URL, for pgx or psql, of a fresh empty
// database on it owned by the superuser postgres. The server is removed when t ends.
func New(t testing.TB) string {
	t.Helper()
	s := Start(t)
	s.CreateDatabase(t, "test")
	return s.URL("test")
}

// Server is a PostgreSQL server private to one test. It is not safe for concurrent use.
type Server struct {
	bin     string              // directory of postgres, createdb, pg_isready
	cred    *syscall.Credential // user postgres when running as root, else nil
	dir     string              // holds data and the log; removed at cleanup
	dataDir string              // also the directory of the unix socket
	logFile string              // postgres's stderr, kept across restarts
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has exited
}

// Start starts a server private to t on a copy of the template data directory. It is
// stopped, even if t fails, and its files removed when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	testenv.SkipShort(t)
	bin := newestBinDir(binGlob)
	if bin == "" {
		testenv.Missing(t, "PostgreSQL not installed: no "+binGlob+"/postgres (apt-get install postgresql)")
	}
	e := setup(bin)
	if e.err != nil {
		if errors.Is(e.err, errNoUser) {
			testenv.Missing(t, e.err.Error())
		}
		t.Fatal(e.err)
	}
	dir, err := os.MkdirTemp(e.root, "server-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{bin: bin, cred: e.cred, dir: dir, dataDir: filepath.Join(dir, "data"), logFile: filepath.Join(dir, "postgres.log")}
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("postgres log:\n%s", s.logTail())
		}
		if err := os.RemoveAll(s.dir); err != nil {
			t.Errorf("remove postgres data: %v", err)
		}
	})
	if err := e.chown(dir); err != nil {
		t.Fatal(err)
	}
	// cp -a keeps the owner postgres and the modes postgres insists on (0700).
	if out, err := exec.Command("cp", "-a", e.template, s.dataDir).CombinedOutput(); err != nil {
		t.Fatalf("copy template data directory: %v\n%s", err, out)
	}
	s.Start(t)
	return s
}

// URL is a libpq-style URL of database db, which pgx and psql accept. Host and port are
// in the query so that PGHOST and PGPORT in the environment cannot redirect it.
func (s *Server) URL(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Path:     "/" + db,
		RawQuery: url.Values{"host": {s.dataDir}, "port": {port}, "sslmode": {"disable"}}.Encode(),
	}
	return u.String()
}

// CreateDatabase creates an empty database owned by postgres.
func (s *Server) CreateDatabase(t testing.TB, name string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(s.bin, "createdb"), "-h", s.dataDir, "-p", port, "-U", "postgres", name)
	cmd.Env = cleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("createdb %s: %v\n%s", name, err, out)
	}
}

// Start starts the stopped server again on the same data directory, so what was
// committed before Stop is back, and waits until it accepts connections.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if s.running() {
		t.Fatal("pgtest: Start of a server that is running")
	}
	log, err := os.OpenFile(s.logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close() // the child has its own copy
	cmd := exec.Command(filepath.Join(s.bin, "postgres"), "-D", s.dataDir, "-k", s.dataDir, "-p", port,
		"-c", "listen_addresses=", "-c", "fsync=off")
	cmd.Dir = s.dataDir
	cmd.Env = cleanEnv()
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGQUIT, Credential: s.cred}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start postgres: %v", err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(s.done)
	s.waitReady(t)
}

// Stop shuts the server down fast: it aborts open transactions and closes client
// connections, as when a database goes away under a running program.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if !s.running() {
		t.Fatal("pgtest: Stop of a server that is not running")
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT) // fast shutdown
	select {
	case <-s.done:
	case <-time.After(startTimeout):
		s.kill()
		t.Fatalf("postgres did not stop within %s of SIGINT; log:\n%s", startTimeout, s.logTail())
	}
	if state := s.cmd.ProcessState; !state.Success() {
		t.Fatalf("postgres stopped with %v; log:\n%s", state, s.logTail())
	}
}

// Crash kills the server and its backends (SIGKILL), as a power cut or the OOM killer
// does: the next Start recovers from the WAL.
func (s *Server) Crash(t testing.TB) {
	t.Helper()
	if !s.running() {
		t.Fatal("pgtest: Crash of a server that is not running")
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
	// Backends die with the group; the shared memory they held goes with the last of them.
}

// Socket is the path of the server's unix socket, for a test proxy in front of it.
func (s *Server) Socket() string { return filepath.Join(s.dataDir, ".s.PGSQL."+port) }

func (s *Server) running() bool {
	if s.done == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// waitReady polls until the server accepts connections, fails fast if it exits.
func (s *Server) waitReady(t testing.TB) {
	t.Helper()
	socket := filepath.Join(s.dataDir, ".s.PGSQL."+port)
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-s.done:
			t.Fatalf("postgres exited before accepting connections: %v; log:\n%s", s.cmd.ProcessState, s.logTail())
		default:
		}
		// The socket appears before the server accepts connections; pg_isready knows when.
		if _, err := os.Stat(socket); err == nil {
			ready := exec.Command(filepath.Join(s.bin, "pg_isready"), "-q", "-h", s.dataDir, "-p", port, "-U", "postgres")
			ready.Env = cleanEnv()
			if ready.Run() == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("postgres not accepting connections after %s; log:\n%s", startTimeout, s.logTail())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// kill ends a running server at once, with its backends: the test is over.
func (s *Server) kill() {
	if !s.running() {
		return
	}
	pid := s.cmd.Process.Pid
	_ = s.cmd.Process.Signal(syscall.SIGQUIT) // immediate shutdown
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
	}
	// Backends that outlive the postmaster are in its process group (Setpgid).
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	<-s.done
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(s.logFile)
	if err != nil {
		return err.Error()
	}
	return testenv.Tail(string(b), 3000)
}

// newestBinDir is the bin directory of the newest major version that has postgres,
// or "" when none has.
func newestBinDir(pattern string) string {
	dirs, _ := filepath.Glob(pattern)
	dirs = slices.DeleteFunc(dirs, func(d string) bool {
		_, err := os.Stat(filepath.Join(d, "postgres"))
		return err != nil
	})
	if len(dirs) == 0 {
		return ""
	}
	// Versions sort as numbers: 9.6 < 15 < 16.
	version := func(d string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(d)), 64)
		return v
	}
	return slices.MaxFunc(dirs, func(a, b string) int {
		va, vb := version(a), version(b)
		if va != vb {
			if va < vb {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
}

// cleanEnv is the environment without PG* variables (PGHOST, PGPORT, PGDATA...): they
// would point servers and clients elsewhere.
func cleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "PG") })
}

var errNoUser = errors.New("PostgreSQL cannot run as root and there is no user postgres (apt-get install postgresql)")

// env is what all servers of a test binary share, made once.
type env struct {
	root     string              // baseDir()/alertrouter-pgtest-*, removed by a later test binary
	template string              // data directory made by initdb
	cred     *syscall.Credential // user postgres when running as root, else nil
	err      error
}

var (
	environment env
	setupOnce   sync.Once
)

// setup makes the template data directory once per test binary.
func setup(bin string) env {
	setupOnce.Do(func() { environment = makeEnv(bin) })
	return environment
}

func makeEnv(bin string) env {
	var e env
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return env{err: errNoUser}
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		e.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	sweep()
	root, err := lockedRoot()
	if err != nil {
		return env{err: err}
	}
	e.root, e.template = root, filepath.Join(root, "template")
	if err := e.chown(root); err != nil {
		return env{err: err}
	}
	// C locale: the same sort order and messages on every machine, and no dependency
	// on the locales installed. --no-sync: the template is copied, never crashed.
	cmd := exec.Command(filepath.Join(bin, "initdb"), "-D", e.template, "-U", "postgres", "-A", "trust",
		"--no-sync", "--no-instructions", "--locale=C", "--encoding=UTF8")
	cmd.Dir = root
	cmd.Env = cleanEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: e.cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return env{err: fmt.Errorf("initdb: %v\n%s", err, out)}
	}
	return e
}

// chown gives dir to postgres when running as root: postgres refuses data directories
// it does not own, and needs to enter every directory above them.
func (e env) chown(dir string) error {
	if e.cred == nil {
		return nil
	}
	return os.Chown(dir, int(e.cred.Uid), int(e.cred.Gid))
}

const (
	shm        = "/dev/shm"
	tmpfsMagic = 0x01021994
)

// baseDir is where the servers' files go: /dev/shm, a tmpfs, unless TMPDIR is set or
// /dev/shm has less than 1 GiB free (Docker's default is 64 MiB). fsync=off does not stop
// the kernel writing back the 40 MB of each copy: on this project's VMs a New took
// 0.2-1.5 s on disk and 0.13 s on tmpfs.
func baseDir() string {
	var fs syscall.Statfs_t
	if os.Getenv("TMPDIR") == "" && syscall.Statfs(shm, &fs) == nil && int64(fs.Type) == tmpfsMagic &&
		fs.Bavail*uint64(fs.Bsize) >= 1<<30 && syscall.Access(shm, 2 /* W_OK */) == nil {
		return shm
	}
	return os.TempDir()
}

// Roots are named for the project: sweep removes what matches, so the name must be ours.
const (
	rootPrefix = "alertrouter-pgtest-"
	newPrefix  = ".alertrouter-pgtest-new-"
)

// lockedRoot makes the directory of this test binary's servers and locks it until the
// binary exits: a later binary that finds the lock free removes it (see sweep). It is
// made under a name sweep ignores and renamed once locked, so no sweep can take it for
// abandoned in between.
func lockedRoot() (string, error) {
	base := baseDir()
	tmp, err := os.MkdirTemp(base, newPrefix)
	if err != nil {
		return "", err
	}
	// A raw descriptor, not an *os.File, whose finalizer would close it and drop the lock.
	fd, err := syscall.Open(tmp, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", tmp, err)
	}
	if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		syscall.Close(fd)
		return "", fmt.Errorf("lock %s: %w", tmp, err)
	}
	root := filepath.Join(base, rootPrefix+strings.TrimPrefix(filepath.Base(tmp), newPrefix))
	if err := os.Rename(tmp, root); err != nil {
		syscall.Close(fd)
		return "", err
	}
	return root, nil
}

// sweep removes the roots of test binaries that ended without removing theirs: the
// template always stays behind (no hook runs when a test binary ends), and a binary
// killed hard leaves its servers' data directories too.
func sweep() {
	var roots []string
	for _, base := range []string{shm, os.TempDir()} {
		found, _ := filepath.Glob(filepath.Join(base, rootPrefix+"*"))
		roots = append(roots, found...)
	}
	for _, root := range roots {
		f, err := os.Open(root)
		if err != nil {
			continue
		}
		// The lock is free only when the binary that made root has exited.
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			_ = os.RemoveAll(root)
		}
		f.Close()
	}
}
