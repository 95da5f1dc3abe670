//go:build !windows

package main

import (
	"errors"
	"syscall"
)

// isReset reports whether err is a connection reset by the peer.
func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }
