package main

import (
	"errors"

	"golang.org/x/sys/windows"
)

// isReset reports whether err is a connection reset by the peer:
// Winsock's WSAECONNRESET on Windows.
func isReset(err error) bool { return errors.Is(err, windows.WSAECONNRESET) }
