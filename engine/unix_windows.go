package engine

import (
	"errors"

	"golang.org/x/sys/windows"
)

// noUnixSockets reports whether err says the system has no Unix-domain
// sockets: Winsock's "address family not supported" (WSAEAFNOSUPPORT),
// as on Windows before 10 1803 and on Wine.
func noUnixSockets(err error) bool { return errors.Is(err, windows.WSAEAFNOSUPPORT) }
