package store

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing f's dirty pages to disk and returns
// without waiting for them (sync_file_range(2)): no journal commit and no flush of the
// disk's cache, unlike an fsync, which cost the full-speed rate (writer.go, writebackFrames).
func startWriteback(f *os.File) error {
	return unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
}
