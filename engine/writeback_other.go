//go:build !linux

package engine

import "os"

// startWriteback does nothing where sync_file_range(2) does not exist: the
// fsync at the end of a transfer does all the writing back.
func startWriteback(f *os.File, off, n int64) {}

// awaitWriteback does nothing where sync_file_range(2) does not exist.
func awaitWriteback(f *os.File, off, n int64) {}
