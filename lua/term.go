package lua

import (
	"bufio"
	"context"
	"io"
	"strings"
	"sync"
	"time"

	glua "github.com/yuin/gopher-lua"
	xterm "golang.org/x/term"

	"github.com/wirelab/wirelab/engine"
)

// termModule is the term module.
var termModule = &module{
	name: "term",
	doc:  "the terminal: line input with prompts only on a terminal, passwords without echo",
	funcs: []fn{
		{"isatty", termIsatty, "term.isatty([\"stdin\"|\"stdout\"|\"stderr\"]) -> bool -- whether the stream is a terminal"},
		{"readline", termReadline, "term.readline([prompt]) -> line | nil, err -- one line of stdin, without its newline; the prompt is shown only on a terminal"},
		{"readpass", termReadpass, "term.readpass([prompt]) -> line | nil, err -- as readline, without echo on a terminal"},
		{"lines", termLines, "term.lines([prompt]) -> iterator -- for line in term.lines(\">> \") do ... end: readline until the input ends"},
	},
}

// streamFD returns the descriptor (on Windows, the handle) of the stream
// named by argument n.
func streamFD(L *glua.LState, n int) int {
	switch name := L.OptString(n, "stdin"); name {
	case "stdin":
		return stdinFD()
	case "stdout":
		return stdoutFD()
	case "stderr":
		return stderrFD()
	default:
		L.ArgError(n, "stdin, stdout or stderr expected, got "+name)
	}
	return 0
}

func termIsatty(L *glua.LState) int {
	L.Push(glua.LBool(xterm.IsTerminal(streamFD(L, 1))))
	return 1
}

// A lineReader reads stdin a line at a time, on request, in a goroutine of
// its own, so that a read waiting for input can be interrupted and no line
// is read before it is asked for.
type lineReader struct {
	in   io.Reader // nil: os.Stdin
	once sync.Once
	ask  chan struct{}
	got  chan lineResult

	// waiting is set while a line asked for has not been taken: an
	// interrupted read leaves its line for the next one.
	mu      sync.Mutex
	waiting bool
}

type lineResult struct {
	line string
	err  error
}

// stdinLines is the process's one reader of os.Stdin, shared by the
// runtimes that read it.
var stdinLines lineReader

func (r *lineReader) start() {
	r.once.Do(func() {
		r.ask = make(chan struct{})
		r.got = make(chan lineResult)
		go func() {
			in := r.in
			if in == nil {
				in = stdinReader()
			}
			br := bufio.NewReader(in)
			for range r.ask {
				line, err := br.ReadString('\n')
				if err == io.EOF && line != "" {
					err = nil
				}
				r.got <- lineResult{strings.TrimRight(line, "\r\n"), err}
			}
		}()
	})
}

// next returns the next line of r, or the context's error when ctx ends
// first; the line asked for then waits for the next call.
func (r *lineReader) next(ctx context.Context) (lineResult, error) {
	r.start()
	r.mu.Lock()
	if !r.waiting {
		r.ask <- struct{}{}
		r.waiting = true
	}
	r.mu.Unlock()
	select {
	case res := <-r.got:
		r.mu.Lock()
		r.waiting = false
		r.mu.Unlock()
		return res, nil
	case <-ctx.Done():
		return lineResult{}, ctx.Err()
	}
}

func readLine(L *glua.LState, prompt string, echo bool) int {
	rt := stateOf(L).rt
	fd, tty := rt.stdinTerminal()
	if tty && prompt != "" {
		rt.writeOut(prompt)
	}
	if tty && !echo {
		if restore := noEcho(fd); restore != nil {
			defer func() {
				restore()
				rt.writeOut("\n")
			}()
		}
	}
	res, err := rt.lines.next(ctxOf(L))
	switch {
	case err != nil:
		return fail(L, engine.ErrInterrupted)
	case res.err != nil:
		return fail(L, engine.ErrClosed)
	}
	L.Push(glua.LString(res.line))
	return 1
}

func termReadline(L *glua.LState) int { return readLine(L, L.OptString(1, ""), true) }

func termLines(L *glua.LState) int {
	prompt := L.OptString(1, "")
	L.Push(L.NewFunction(func(L *glua.LState) int {
		if readLine(L, prompt, true) == 1 {
			return 1
		}
		L.SetTop(0)
		L.Push(glua.LNil)
		return 1
	}))
	return 1
}
func termReadpass(L *glua.LState) int { return readLine(L, L.OptString(1, ""), false) }

// progress draws a progress bar on stderr while a file moves, when stderr
// is a terminal; otherwise it is nil and costs nothing.
type progress struct {
	rt    *Runtime
	label string
	total int64
	start time.Time
	last  time.Time
}

func newProgress(L *glua.LState, label string, total int64) func(int64) {
	if !xterm.IsTerminal(stderrFD()) {
		return nil
	}
	p := &progress{rt: stateOf(L).rt, label: label, total: total, start: time.Now()}
	return p.update
}

func (p *progress) update(done int64) {
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && done < p.total {
		return
	}
	p.last = now
	frac := 1.0
	if p.total > 0 {
		frac = float64(done) / float64(p.total)
	}
	const width = 30
	bar := strings.Repeat("=", int(frac*width)) + strings.Repeat(" ", width-int(frac*width))
	rate := float64(done) / max(now.Sub(p.start).Seconds(), 1e-3) / (1 << 20)
	end := ""
	if done >= p.total {
		end = "\n"
	}
	p.rt.reportf("\r%s [%s] %3.0f%% %.1f MiB/s%s", p.label, bar, frac*100, rate, end)
}
