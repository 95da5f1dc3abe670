//go:build !windows

package engine

import "syscall"

// relisten sets the accept queue of the listening socket fd to backlog.
func relisten(fd uintptr, backlog int) { syscall.Listen(int(fd), backlog) }
