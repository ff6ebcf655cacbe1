package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFileName is the lock file beside the database.
const LockFileName = "alertrouter.lock"

// ErrInUse means another alertrouter has the storage directory open.
var ErrInUse = errors.New("storage is in use by another alertrouter")

// lockDir takes an exclusive flock on the storage directory's lock file, so that two
// processes never share one database: both would deliver everything. The kernel drops
// the lock when the process ends, however it ends, so a lock file left by a SIGKILL
// does not block the next start. The file holds the owner's pid, for the message.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, LockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open store: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		owner, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid := strings.TrimSpace(string(owner))
			if pid == "" {
				pid = "unknown"
			}
			return nil, fmt.Errorf("storage %s is in use by another alertrouter (pid %s): %w", dir, pid, ErrInUse)
		}
		return nil, fmt.Errorf("open store: lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}
