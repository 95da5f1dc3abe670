//go:build !windows

package engine

import (
	"errors"
	"syscall"
)

// noUnixSockets reports whether err says the system has no Unix-domain
// sockets.
func noUnixSockets(err error) bool { return errors.Is(err, syscall.EAFNOSUPPORT) }
