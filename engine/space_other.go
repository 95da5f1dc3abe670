//go:build !(linux || darwin || freebsd || windows)

package engine

import "os"

// freeSpace cannot tell here: RecvFile then leaves a full disk to fail
// the write.
func freeSpace(root *os.Root) (int64, bool) { return 0, false }
