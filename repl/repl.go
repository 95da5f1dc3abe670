package repl

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/peterh/liner"
	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
	parser "github.com/yuin/gopher-lua/parse"
	"golang.org/x/term"

	"github.com/wirelab/wirelab/lua"
)

// Options configure a REPL.
type Options struct {
	// History is the history file ("" for none).
	History string
	// Init is run first: a chunk, or @file (WIRELAB_INIT).
	Init string
	// Script, when set, is run before the first prompt with Args, and its
	// globals stay (wirelab -i).
	Script     string
	ScriptSrc  []byte
	ScriptArgs []string
}

const (
	prompt     = "> "
	contPrompt = ">> "
	banner     = "wirelab: Lua with sockets. help() for help, Ctrl-D to leave.\n"
)

// session is one interactive session at the prompt.
type session struct {
	rt   *lua.Runtime
	L    *glua.LState
	gate *gate
	out  io.Writer // direct to the terminal
	errw io.Writer
	sigs chan os.Signal
}

// Run runs an interactive session on the terminal, in the runtime's main
// state, until Ctrl-D, os.exit or SIGTERM, and returns the exit status.
// Leaving closes the runtime (Runtime.Close). The runtime's Options.Exit
// should be nil, so that os.exit in a task cannot end the process with
// the terminal in raw mode.
func Run(rt *lua.Runtime, o Options) int {
	g := &gate{}
	if term.IsTerminal(int(os.Stdout.Fd())) {
		g.screen = os.Stdout
	}
	r := &session{rt: rt, gate: g, out: os.Stdout, errw: os.Stderr}
	rt.SetOutput(g.writer(os.Stdout), g.writer(os.Stderr))
	r.L = rt.State()
	r.setup()
	ed := newEditor(r, o.History)
	defer ed.close()
	quit := r.watchSignals()
	defer signal.Stop(r.sigs)

	fmt.Fprint(r.out, banner)
	if o.Init != "" {
		if code, exit := r.runInit(o.Init); exit {
			return r.leave(code)
		}
	}
	if o.Script != "" {
		if code, exit := r.runScript(o.Script, o.ScriptSrc, o.ScriptArgs); exit {
			return r.leave(code)
		}
	}
	for {
		select {
		case <-quit:
			return r.leave(143)
		default:
		}
		src, code, exit := ed.chunk()
		if exit {
			return r.leave(code)
		}
		if code, exit := r.eval(src); exit {
			return r.leave(code)
		}
	}
}

// watchSignals interrupts the evaluation running on SIGINT and SIGTERM;
// SIGTERM also ends the session, through the channel returned.
func (r *session) watchSignals() <-chan struct{} {
	r.sigs = make(chan os.Signal, 4)
	signal.Notify(r.sigs, os.Interrupt, syscall.SIGTERM)
	quit := make(chan struct{}, 1)
	go func() {
		for sig := range r.sigs {
			if sig == syscall.SIGTERM {
				quit <- struct{}{}
			}
			r.interrupt()
		}
	}()
	return quit
}

// An editor is the line editor with its history, and the two terminal
// modes it switches between: its own while a line is edited, and the
// terminal's normal mode between prompts, so that io.read and child
// processes see a normal terminal.
type editor struct {
	r       *session
	ln      *liner.State
	keys    *keyFeed // the editor's input on a terminal; nil: stdin itself
	history *os.File // appended to; nil when there is none
	normal  func()
	editing func()
}

func newEditor(r *session, historyPath string) *editor {
	origMode, origErr := liner.TerminalMode()
	keys := newKeyFeed()
	if keys != nil {
		// The editor takes os.Stdin as its input when it is made.
		stdin := os.Stdin
		os.Stdin = keys.editorIn
		defer func() { os.Stdin = stdin }()
	}
	ln := liner.NewLiner()
	lineMode, lineErr := liner.TerminalMode()
	ed := &editor{r: r, ln: ln, keys: keys,
		normal: func() {
			keys.stop()
			if origErr == nil {
				origMode.ApplyMode()
			}
		},
		editing: func() {
			if lineErr == nil {
				lineMode.ApplyMode()
			}
			keys.start()
		},
	}
	ln.SetCtrlCAborts(true)
	// One row: background output is written above the prompt (gate),
	// and a single-row redraw never reaches up into it.
	ln.SetMultiLineMode(false)
	ln.SetTabCompletionStyle(liner.TabPrints)
	ln.SetWordCompleter(func(line string, pos int) (string, []string, string) {
		return complete(r.L, line, pos)
	})
	ed.history = openHistory(ln, historyPath)
	ed.normal()
	return ed
}

func (ed *editor) close() {
	if ed.history != nil {
		ed.history.Close()
	}
	ed.ln.Close()
	ed.normal()
	ed.keys.close()
}

// chunk reads lines until they make a complete chunk, which it returns
// and keeps in the history. Ctrl-C drops the chunk being typed; exit is
// true (with the status) when the session should end: Ctrl-D on an
// empty line, or the terminal failing.
func (ed *editor) chunk() (src string, code int, exit bool) {
	var chunk strings.Builder
	for {
		p := prompt
		if chunk.Len() > 0 {
			p = contPrompt
		}
		ed.r.gate.hold(p)
		ed.editing()
		line, err := ed.ln.Prompt(p)
		ed.normal()
		ed.r.gate.release()
		switch {
		case errors.Is(err, liner.ErrPromptAborted):
			// Ctrl-C clears the line, and a chunk being continued.
			chunk.Reset()
			continue
		case errors.Is(err, io.EOF):
			fmt.Fprintln(ed.r.out)
			if chunk.Len() > 0 {
				chunk.Reset()
				continue
			}
			return "", 0, true
		case err != nil:
			fmt.Fprintf(ed.r.errw, "wirelab: %v\n", err)
			return "", 1, true
		}
		if chunk.Len() > 0 {
			chunk.WriteByte('\n')
		}
		chunk.WriteString(line)
		src := chunk.String()
		if strings.TrimSpace(src) == "" {
			chunk.Reset()
			continue
		}
		if incomplete(src) {
			continue
		}
		ed.ln.AppendHistory(src)
		if ed.history != nil {
			fmt.Fprintln(ed.history, strings.ReplaceAll(src, "\n", " "))
		}
		return src, 0, false
	}
}

// setup adds the REPL's own globals.
func (r *session) setup() {
	r.L.SetGlobal("help", r.L.NewFunction(func(L *glua.LState) int {
		fmt.Fprint(r.out, lua.Help(L, L.Get(1)))
		return 0
	}))
	r.L.SetGlobal("hexdump", r.L.NewFunction(func(L *glua.LState) int {
		fmt.Fprint(r.out, lua.Hexdump([]byte(L.CheckString(1))))
		return 0
	}))
	r.L.SetGlobal("scripts", r.L.NewFunction(func(L *glua.LState) int {
		for _, s := range r.rt.Scripts() {
			fmt.Fprintf(r.out, "  %-20s %s\n", s.Name, s.Description)
		}
		return 0
	}))
	// os.exit must not leave the terminal raw: it ends the session instead.
	if os, ok := r.L.GetGlobal("os").(*glua.LTable); ok {
		os.RawSetString("exit", r.L.NewFunction(lua.Exit))
	}
}

// interrupt interrupts the evaluation running, if any.
func (r *session) interrupt() { r.rt.Interrupt() }

// leave ends the runtime, with the shutdown sequence of every run
// (Runtime.Close), and returns code.
func (r *session) leave(code int) int {
	r.rt.Close()
	r.gate.release()
	return code
}

// incomplete reports whether src stops in the middle of a statement (an
// open function, do, string ...), as gopher-lua's parser says it reached
// the end of input.
func incomplete(src string) bool {
	if _, err := parse("return " + src); err == nil {
		return false // an expression
	}
	if _, err := parse(src); err != nil {
		msg := err.Error()
		return strings.Contains(msg, "at EOF") && !strings.Contains(msg, "unterminated string")
	}
	return false
}

func parse(src string) ([]ast.Stmt, error) {
	return parser.Parse(strings.NewReader(src), "stdin")
}

// eval runs one chunk: as an expression whose values are printed if it is
// one (lua.c's "return " first), else as statements. It reports whether
// the chunk asked to leave, and with what code.
func (r *session) eval(src string) (int, bool) {
	quiet := strings.HasSuffix(strings.TrimSpace(src), ";")
	fn, err := lua.LoadString(r.L, "return "+src, "stdin")
	if err != nil {
		if fn, err = lua.LoadString(r.L, src, "stdin"); err != nil {
			fmt.Fprintf(r.errw, "%v\n", err)
			return 0, false
		}
	}
	values, err := r.call(fn)
	if code, exit := exitOf(err); exit {
		return code, true
	} else if err != nil {
		return 0, false
	}
	if len(values) > 0 {
		r.L.SetGlobal("_", values[0])
	}
	if quiet || len(values) == 0 {
		return 0, false
	}
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = format(r.L, v)
	}
	fmt.Fprintln(r.out, strings.Join(parts, "\t"))
	return 0, false
}

// call runs fn in the main state, where Ctrl-C interrupts it, and prints
// its error, if any, with a short traceback.
func (r *session) call(fn *glua.LFunction, args ...glua.LValue) ([]glua.LValue, error) {
	values, err := r.rt.Call(fn, args...)
	if _, exit := exitOf(err); err != nil && !exit {
		fmt.Fprintln(r.errw, shortTrace(err.Error()))
	}
	return values, err
}

// exitOf reports whether err asks to leave (os.exit, flags --help), and
// with what code.
func exitOf(err error) (int, bool) {
	var exit *lua.ExitError
	if errors.As(err, &exit) {
		return exit.Code, true
	}
	return 0, false
}

// shortTrace keeps an error's message and the first lines of its
// traceback that point into code.
func shortTrace(text string) string {
	lines := strings.Split(text, "\n")
	out := lines[:1]
	for _, l := range lines[1:] {
		if strings.Contains(l, "[C]: ?") || len(out) >= 6 {
			continue
		}
		out = append(out, l)
	}
	if len(out) == 2 && strings.TrimSpace(out[1]) == "stack traceback:" {
		out = out[:1]
	}
	return strings.Join(out, "\n")
}

// runInit runs WIRELAB_INIT: a chunk, or @file. It reports whether the
// chunk asked to leave, and with what code.
func (r *session) runInit(init string) (int, bool) {
	name, src := "WIRELAB_INIT", []byte(init)
	if strings.HasPrefix(init, "@") {
		var err error
		name = init[1:]
		if src, err = os.ReadFile(name); err != nil {
			fmt.Fprintf(r.errw, "wirelab: WIRELAB_INIT: %v\n", err)
			return 0, false
		}
	}
	return r.runScript(name, src, nil)
}

// runScript runs a script in the main state, as wirelab run does (the
// runtime's Run), and prints its error, if any. It reports whether the
// script asked to leave, and with what code.
func (r *session) runScript(name string, src []byte, args []string) (int, bool) {
	err := r.rt.Run(name, src, args...)
	if code, exit := exitOf(err); exit {
		return code, true
	} else if err != nil {
		fmt.Fprintln(r.errw, shortTrace(err.Error()))
	}
	return 0, false
}

// openHistory loads the history file and opens it for appending.
func openHistory(ln *liner.State, path string) *os.File {
	if path == "" {
		return nil
	}
	if f, err := os.Open(path); err == nil {
		ln.ReadHistory(f)
		f.Close()
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil
	}
	return f
}

// A gate puts what background tasks print on the screen at once, also
// while the prompt waits for a line: a server's log line or a handler's
// print shows up at an idle prompt, not only after the next Enter. Such
// output clears the prompt's row, is written, and the prompt is drawn
// again below it; the text being typed stays in the line editor and is
// drawn again with the next key (the editor runs in single-row mode, which
// redraws only its own row, so no output is erased by that redraw). When
// stdout is not a terminal, output is written as it comes.
type gate struct {
	mu      sync.Mutex
	holding bool      // the prompt is up
	prompt  string    // the prompt on the screen, to draw again
	screen  io.Writer // the terminal, where the prompt is drawn; nil: not a terminal
}

func (g *gate) writer(w io.Writer) io.Writer { return gateWriter{g, w} }

// hold tells the gate that prompt p is on the screen.
func (g *gate) hold(p string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.holding, g.prompt = true, p
}

// release tells the gate the prompt is gone.
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.holding = false
}

type gateWriter struct {
	g *gate
	w io.Writer
}

func (gw gateWriter) Write(p []byte) (int, error) {
	g := gw.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.holding || g.screen == nil || len(p) == 0 {
		return gw.w.Write(p)
	}
	io.WriteString(gw.w, "\r\x1b[K") // the prompt's row, cleared
	n, err := gw.w.Write(p)
	if p[len(p)-1] != '\n' {
		io.WriteString(gw.w, "\n")
	}
	io.WriteString(g.screen, g.prompt)
	return n, err
}
