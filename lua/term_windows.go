package lua

import (
	"io"
	"os"

	"golang.org/x/sys/windows"
)

// stdinFD, stdoutFD and stderrFD are the standard streams' console
// handles.
func stdinFD() int  { return int(os.Stdin.Fd()) }
func stdoutFD() int { return int(os.Stdout.Fd()) }
func stderrFD() int { return int(os.Stderr.Fd()) }

// noEcho turns the echo of console handle fd off and returns what turns
// it back on, or nil when fd is no console.
func noEcho(fd int) (restore func()) {
	h := windows.Handle(fd)
	var mode uint32
	if windows.GetConsoleMode(h, &mode) != nil {
		return nil
	}
	windows.SetConsoleMode(h, mode&^windows.ENABLE_ECHO_INPUT)
	return func() { windows.SetConsoleMode(h, mode) }
}

// stdinReader is what the runtimes' line reader reads: os.Stdin, whose
// console cooks every line itself.
func stdinReader() io.Reader { return os.Stdin }
