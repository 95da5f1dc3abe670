//go:build !windows

package engine

import "syscall"

// The system's errors that the engine names in words of its own. On Unix
// they are the errno values; Winsock has values of its own
// (errno_windows.go), which syscall's E names do not match there.
var (
	errReset        error = syscall.ECONNRESET
	errRefused      error = syscall.ECONNREFUSED
	errAborted      error = syscall.ECONNABORTED
	errPipe         error = syscall.EPIPE
	errAddrInUse    error = syscall.EADDRINUSE
	errAccess       error = syscall.EACCES
	errAddrNotAvail error = syscall.EADDRNOTAVAIL
)
