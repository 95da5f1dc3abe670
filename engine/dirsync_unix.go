//go:build !windows

package engine

import "os"

// syncDir would make a rename in root's directory durable; on Unix
// RecvFile leaves that to the file system's journal, as before.
func syncDir(root *os.Root) {}
