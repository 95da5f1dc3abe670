// Package errtext gives the system's errors the words and numbers of the
// C runtime, which Lua 5.1's messages and the wire texts of wirelab's
// scripts ("no such file") are made of: on Unix, errno's own; on Windows,
// where a call fails with a Windows error code and its long sentence
// ("The system cannot find the file specified."), the errno and text the
// C runtime gives the same failure, for the codes a script meets.
package errtext

import (
	"errors"
	"strings"
	"syscall"
)

// Rewrite returns err's message with the text of the system error in it,
// if any, replaced by the C runtime's (Text).
func Rewrite(err error) string {
	msg := err.Error()
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if text, _, ok := Text(errno); ok {
			msg = strings.Replace(msg, errno.Error(), text, 1)
		}
	}
	return msg
}
