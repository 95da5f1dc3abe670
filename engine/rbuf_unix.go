//go:build unix

package engine

import "syscall"

// rawReads tells that sockets are read through their RawConn here.
const rawReads = true

// readFD is one read(2) of a socket the poller owns.
func readFD(fd uintptr, p []byte) (int, error) { return syscall.Read(int(fd), p) }
