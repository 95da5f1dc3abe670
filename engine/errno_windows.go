package engine

import "golang.org/x/sys/windows"

// The system's errors that the engine names in words of its own: on
// Windows, Winsock's (syscall's ECONNRESET and the like are values Go
// invented there, which no call returns), and for a pipe whose reader is
// gone, ERROR_NO_DATA.
var (
	errReset        error = windows.WSAECONNRESET
	errRefused      error = windows.WSAECONNREFUSED
	errAborted      error = windows.WSAECONNABORTED
	errPipe         error = windows.ERROR_NO_DATA
	errAddrInUse    error = windows.WSAEADDRINUSE
	errAccess       error = windows.WSAEACCES
	errAddrNotAvail error = windows.WSAEADDRNOTAVAIL
)
