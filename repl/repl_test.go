package repl_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

var wirelab string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wirelab-repl")
	if err != nil {
		panic(err)
	}
	wirelab = filepath.Join(dir, "wirelab")
	if out, err := exec.Command("go", "build", "-o", wirelab, "..").CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// session is wirelab's REPL on a pseudo-terminal, as a person sees it.
type session struct {
	t    *testing.T
	cmd  *exec.Cmd
	tty  *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	seen int // how much of out expect has consumed
	done chan struct{}
}

func start(t *testing.T, history string, args ...string) *session {
	t.Helper()
	return startWith(t, []string{"WIRELAB_HISTORY=" + history, "WIRELAB_INIT="}, args...)
}

func startWith(t *testing.T, env []string, args ...string) *session {
	t.Helper()
	cmd := exec.Command(wirelab, args...)
	cmd.Env = append(append(os.Environ(), "TERM=xterm"), env...)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 200})
	if err != nil {
		t.Fatal(err)
	}
	s := &session{t: t, cmd: cmd, tty: tty, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		tty.Close()
	})
	s.expect("help() for help")
	return s
}

func (s *session) send(keys string) {
	s.t.Helper()
	if _, err := s.tty.Write([]byte(keys)); err != nil {
		s.t.Fatal(err)
	}
}

// expect waits for want to appear in the output after what earlier calls
// consumed, and returns the output up to it.
func (s *session) expect(want string) string {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		rest := s.out.String()[s.seen:]
		if i := strings.Index(rest, want); i >= 0 {
			s.seen += i + len(want)
			s.mu.Unlock()
			return rest[:i]
		}
		s.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.t.Fatalf("did not see %q; the screen after the last match:\n%s", want, s.out.String()[s.seen:])
	return ""
}

// line types a line, Enter included, and waits for its echo.
func (s *session) line(text string) {
	s.t.Helper()
	s.send(text + "\r")
	s.expect(text)
}

func TestExpressionsAndValues(t *testing.T) {
	s := start(t, filepath.Join(t.TempDir(), "h"))
	s.line(`struct.pack("i", 4)`)
	s.expect(`"\x04\x00\x00\x00"`)
	s.line(`1 + 1, "two", nil, true`)
	s.expect("2\t\"two\"\tnil\ttrue")
	s.line(`_ * 10`)
	s.expect("20")
	s.line(`t = {3, 1, b = {c = "d"}, a = 1}; t.me = t`)
	s.line(`t`)
	s.expect(`{3, 1, a = 1, b = {c = "d"}, me = <cycle: table: `)
	s.line(`42;`)
	s.line(`"after the quiet one"`)
	out := s.expect(`"after the quiet one"`)
	if strings.Contains(out, "42\r\n") {
		t.Fatalf("a trailing ; should suppress the value: %q", out)
	}
	s.line(`socket.connect`)
	s.expect("<function socket.connect>")
}

func TestContinuation(t *testing.T) {
	s := start(t, filepath.Join(t.TempDir(), "h"))
	s.line("function double(x)")
	s.expect(">> ")
	s.line("return x * 2")
	s.line("end")
	s.line("double(21)")
	s.expect("42")
	s.line(`s = [[one`)
	s.expect(">> ")
	s.line(`two]]`)
	s.line("s")
	s.expect(`"one\ntwo"`)
}

func TestCompletion(t *testing.T) {
	s := start(t, filepath.Join(t.TempDir(), "h"))
	s.send("socket.con\t\r")
	s.expect("<function socket.connect>")
	s.line(`ln = socket.listen("127.0.0.1", 0)`)
	s.line(`c = socket.connect("127.0.0.1", ln:port())`)
	s.send("c:recv_\t\t")
	s.expect("recv_exact")
	s.expect("recv_until")
	s.send("\x03") // Ctrl-C clears the line
	s.send("strin\t.rep\t('ab', 2)\r")
	s.expect(`"abab"`)
}

func TestHelpAndScripts(t *testing.T) {
	s := start(t, filepath.Join(t.TempDir(), "h"))
	s.line("help()")
	s.expect("socket   TCP and UDP sockets")
	s.line("help(socket.connect)")
	s.expect("socket.connect(host, port [, {timeout=s, tls=true|{verify=, sni=, ca=, fingerprint=}}]) -> conn | nil, err")
	s.line(`help("conn:recv_frame")`)
	s.expect("c:recv_frame([{header=fmt, max=n}])")
	s.line("scripts()")
	s.expect("sticky_demo")
}

// TestInterruptAccept: Ctrl-C out of a forgotten accept, state intact.
func TestInterruptAccept(t *testing.T) {
	s := start(t, filepath.Join(t.TempDir(), "h"))
	s.line(`keep = "still here"`)
	s.line(`ln = socket.listen("127.0.0.1", 0)`)
	s.line(`ln:accept()`)
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	s.send("\x03")
	s.expect("interrupted")
	if d := time.Since(start); d > time.Second {
		t.Fatalf("took %v", d)
	}
	s.line("keep")
	s.expect(`"still here"`)
	s.line(`while true do end`)
	time.Sleep(100 * time.Millisecond)
	s.send("\x03")
	s.expect("interrupted")
	s.line(`error("boom")`)
	s.expect("stdin:1: boom")
	s.line(`1 + 2`)
	s.expect("3")
}

// TestBackgroundServer: a server started at the prompt answers a client
// typed at the next one: the exec fixed server, a command, its 4 header bytes.
func TestBackgroundServer(t *testing.T) {
	s := start(t, filepath.Join(t.TempDir(), "h"))
	s.line(`srv = require("exec_fixed_server").serve({host = "127.0.0.1", port = 0, timeout = 5, max_output = 1000})`)
	s.line(`c = socket.connect("127.0.0.1", srv:port())`)
	s.line(`c:send("echo hi")`)
	s.expect("7")
	s.line(`c:recv_exact(4)`)
	s.expect(`"\x03\x00\x00\x00"`)
	s.line(`c:recv_exact(3)`)
	s.expect(`"hi\n"`)
	s.line(`srv`)
	s.expect("listening, 1 served>")
	// background output waits while a line is being typed: the task
	// prints, then leaves a file, and only then is the screen checked
	printed := filepath.Join(t.TempDir(), "printed")
	s.line(fmt.Sprintf(`task.spawn(function() task.sleep(0.3) print("from the background") io.open(%q, "w"):close() end);`, printed))
	s.send("abc")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(printed); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the background task never printed")
		}
	}
	s.mu.Lock()
	early := strings.Contains(s.out.String()[s.seen:], "from the background")
	s.mu.Unlock()
	if early {
		t.Fatal("background output landed in the line being typed")
	}
	s.send("\x15\r") // Ctrl-U, Enter
	s.expect("from the background")
}

func TestHistoryAndExit(t *testing.T) {
	history := filepath.Join(t.TempDir(), "h")
	s := start(t, history)
	s.line(`remembered = 12345`)
	s.line(`srv = socket.serve("127.0.0.1", 0, function(c) end)`)
	s.expect("> ") // evaluated: the next prompt is up, the terminal raw again
	s.send("\x04") // Ctrl-D on an empty line
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		t.Fatal("Ctrl-D did not exit")
	}
	s.cmd.Wait()
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	s2 := start(t, history)
	s2.send("\x1b[A\x1b[A\r") // up twice: the first line of the last session
	s2.line("remembered")
	s2.expect("12345")
}

func TestNormalModeBetweenPrompts(t *testing.T) {
	s := start(t, filepath.Join(t.TempDir(), "h"))
	s.line(`line = io.read()`)
	s.send("typed for io.read\r")
	s.line(`line`)
	s.expect(`"typed for io.read"`)
	s.line(`exec.run("stty -a < /dev/tty").stdout:match("[-]?echo ")`)
	s.expect(`"echo "`)
}

func TestScriptThenPrompt(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "s.lua")
	os.WriteFile(script, []byte("greeting = 'hello ' .. (arg[1] or '?')\n"), 0o644)
	s := start(t, filepath.Join(dir, "h"), "-i", script, "world")
	s.line("greeting")
	s.expect(`"hello world"`)
}

func TestInit(t *testing.T) {
	dir := t.TempDir()
	s := startWith(t, []string{"WIRELAB_HISTORY=" + filepath.Join(dir, "h"), "WIRELAB_INIT=from_init = 7 * 6"})
	s.line("from_init")
	s.expect("42")
	file := filepath.Join(dir, "init.lua")
	os.WriteFile(file, []byte("from_file = 'yes'\n"), 0o644)
	s2 := startWith(t, []string{"WIRELAB_HISTORY=" + filepath.Join(dir, "h2"), "WIRELAB_INIT=@" + file})
	s2.line("from_file")
	s2.expect(`"yes"`)
}

// TestPipedStdin: stdin that is not a terminal runs as a script, no prompts.
func TestPipedStdin(t *testing.T) {
	cmd := exec.Command(wirelab)
	cmd.Stdin = strings.NewReader("x = 2\nprint(x * 21)\n")
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "42\n" {
		t.Fatalf("%q %v", out, err)
	}
}
