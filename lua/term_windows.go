package lua

import "golang.org/x/sys/windows"

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
