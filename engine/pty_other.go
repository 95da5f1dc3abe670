//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package engine

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
)

// errNoPTY is the answer to a pseudo-terminal where the system has none
// that wirelab drives.
var errNoPTY = fmt.Errorf("pty: pseudo-terminals are not supported on %s; spawn without pty = true", runtime.GOOS)

func openPTY() (master, tty *os.File, err error) { return nil, nil, errNoPTY }

func ptyAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
