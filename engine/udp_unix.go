//go:build !windows

package engine

import "syscall"

// truncFlags returns how a receive of a datagram ended: flags with
// msgTrunc set when the datagram was longer than the buffer, and the
// error. On Unix the kernel says so in the flags (MSG_TRUNC).
func truncFlags(flags int, err error) (int, error) { return flags, err }

// msgTrunc is the flag of a datagram cut to the buffer's size.
const msgTrunc = syscall.MSG_TRUNC
