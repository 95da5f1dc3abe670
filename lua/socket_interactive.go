package lua

import (
	"context"
	"errors"
	"time"

	glua "github.com/yuin/gopher-lua"
	xterm "golang.org/x/term"

	"github.com/wirelab/wirelab/engine"
)

// escapeReceived makes received bytes safe to print on a terminal: bytes
// outside printable ASCII become \xNN (\r is \r, a backslash \\), while
// newlines and tabs stay as they are.
func escapeReceived(b []byte) []byte {
	const hexDigits = "0123456789abcdef"
	out := make([]byte, 0, len(b)+len(b)/8)
	for _, c := range b {
		switch {
		case c == '\n' || c == '\t':
			out = append(out, c)
		case c == '\r':
			out = append(out, '\\', 'r')
		case c == '\\':
			out = append(out, '\\', '\\')
		case c < 0x20 || c > 0x7e:
			out = append(out, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			out = append(out, c)
		}
	}
	return out
}

// errStdinEOF ends interactive mode when the input ends.
var errStdinEOF = errors.New("eof")

// pipeInput is ttyInput for stdin that is not a terminal: lines through
// r, the runtime's line reader of stdin, each with "\n" put back.
func pipeInput(ctx context.Context, r *lineReader, out chan<- []byte) error {
	for {
		res, err := r.next(ctx)
		if err != nil {
			return err
		}
		if res.err != nil {
			return errStdinEOF
		}
		select {
		case out <- []byte(res.line + "\n"):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func connInteractive(L *glua.LState) int {
	c := checkConn(L, 1)
	var crlf *engine.CRLF
	if optBool(L, optTable(L, 2, "crlf"), "crlf", false) {
		crlf = &engine.CRLF{}
	}
	rt := stateOf(L).rt
	outer := ctxOf(L)
	ctx, cancel := context.WithCancel(outer)
	defer cancel()

	recvDone := make(chan error, 1)
	go func() {
		for {
			b, err := c.Recv(ctx, 64<<10)
			if len(b) > 0 {
				rt.writeOut(string(escapeReceived(b)))
			}
			if err != nil {
				recvDone <- err
				return
			}
		}
	}()
	lines := make(chan []byte)
	input := func(ctx context.Context, out chan<- []byte) error { return pipeInput(ctx, rt.lines, out) }
	tty := rt.lines == &stdinLines && xterm.IsTerminal(stdinFD()) // the process's own terminal
	if tty {
		input = func(ctx context.Context, out chan<- []byte) error {
			return ttyInput(ctx, out, func(b []byte) { rt.writeOut(string(b)) })
		}
	}
	inDone := make(chan error, 1)
	go func() { inDone <- input(ctx, lines) }()

	reason, inSel := "", inDone
	for reason == "" {
		select {
		case line := <-lines:
			if crlf != nil {
				line = crlf.Convert(line)
			}
			if _, err := c.Send(ctx, line); err != nil {
				reason = engine.Reason(err)
			}
		case err := <-recvDone:
			recvDone <- err
			reason = engine.Reason(err)
		case err := <-inSel:
			inDone <- err
			if errors.Is(err, errStdinEOF) && !tty {
				// Piped input has all been sent: the answers to it
				// are still to come, until the peer closes.
				inSel = nil
				continue
			}
			reason = "eof"
			if !errors.Is(err, errStdinEOF) {
				reason = err.Error()
			}
		case <-outer.Done():
			reason = engine.ErrInterrupted.Error()
		}
	}
	cancel()
	// Neither side may go on reading once the prompt is back: wait for
	// both, but not forever on a stdin read that cannot be cut short.
	<-recvDone
	select {
	case <-inDone:
	case <-time.After(200 * time.Millisecond):
	}
	L.Push(glua.LString(reason))
	return 1
}
