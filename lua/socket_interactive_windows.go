package lua

import "context"

// ttyInput sends what is typed on the console, a line at a time, to out
// until ctx is done. Windows has no poll(2) on a console, so the lines
// come through the runtime's line reader of stdin, as for piped input: a
// read that ctx cuts short leaves the line it is waiting for to the next
// reader of stdin. The console cooks every line itself, so there is
// nothing typed ahead to echo.
func ttyInput(ctx context.Context, out chan<- []byte, _ func([]byte)) error {
	return pipeInput(ctx, &stdinLines, out)
}
