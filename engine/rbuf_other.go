//go:build !unix

package engine

import "errors"

// rawReads tells that sockets are read with plain reads here.
const rawReads = false

// readFD is not used where rawReads is false.
func readFD(fd uintptr, p []byte) (int, error) { return 0, errors.ErrUnsupported }
