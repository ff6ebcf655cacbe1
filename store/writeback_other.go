//go:build !linux

package store

import "os"

// startWriteback writes f's dirty pages to disk. Only Linux can start that without
// waiting for it (writeback_linux.go); elsewhere an fsync, in the checkpointer, does it.
func startWriteback(f *os.File) error { return f.Sync() }
