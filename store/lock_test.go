package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Two processes on one directory would both deliver everything: the second open fails
// at once, naming the directory and the owner, and works again once the first closes.
func TestSecondOpenOfADirectoryIsRefused(t *testing.T) {
	dir := t.TempDir()
	first, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(context.Background(), dir)
	want := fmt.Sprintf("storage %s is in use by another alertrouter (pid %d)", dir, os.Getpid())
	if !errors.Is(err, ErrInUse) || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("second Open: %v, want %q", err, want)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	second.Close()
}

// A lock file left behind (a SIGKILL leaves it) holds no lock: it does not block a start.
func TestStaleLockFileDoesNotBlock(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, LockFileName), []byte("999999\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	openTest(t, dir)
	b, err := os.ReadFile(filepath.Join(dir, LockFileName))
	if err != nil || strings.TrimSpace(string(b)) != fmt.Sprint(os.Getpid()) {
		t.Fatalf("lock file holds %q, %v; want our pid", b, err)
	}
}

// Backup takes no lock: it copies the database while the store is open.
func TestBackupWhileOpen(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	enqueue(t, s, "ops", t0)
	dest := filepath.Join(t.TempDir(), "copy.db")
	if err := Backup(context.Background(), dir, dest); err != nil {
		t.Fatal(err)
	}
	if err := Backup(context.Background(), dir, dest); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second backup to the same file: %v", err)
	}
	if err := Backup(context.Background(), t.TempDir(), filepath.Join(t.TempDir(), "x.db")); err == nil || !strings.Contains(err.Error(), "no database") {
		t.Fatalf("backup of an empty directory: %v", err)
	}
	restored := t.TempDir()
	if err := os.Rename(dest, filepath.Join(restored, FileName)); err != nil {
		t.Fatal(err)
	}
	r := openTest(t, restored)
	ns, err := r.List(context.Background(), Filter{Limit: 10})
	if err != nil || len(ns) != 1 {
		t.Fatalf("restored %+v, %v", ns, err)
	}
}
