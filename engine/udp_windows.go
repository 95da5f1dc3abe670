package engine

import (
	"errors"

	"golang.org/x/sys/windows"
)

// truncFlags returns how a receive of a datagram ended: flags with
// msgTrunc set when the datagram was longer than the buffer, and the
// error. Winsock fails such a receive with WSAEMSGSIZE, the buffer
// filled: that is the truncation, not an error.
func truncFlags(flags int, err error) (int, error) {
	if errors.Is(err, windows.WSAEMSGSIZE) {
		return flags | msgTrunc, nil
	}
	return flags, err
}

// msgTrunc is the flag of a datagram cut to the buffer's size.
const msgTrunc = windows.MSG_TRUNC
