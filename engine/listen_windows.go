package engine

import "syscall"

// relisten sets the accept queue of the listening socket fd to backlog,
// where Winsock lets listen be called again (it ignores it otherwise).
func relisten(fd uintptr, backlog int) { syscall.Listen(syscall.Handle(fd), backlog) }
