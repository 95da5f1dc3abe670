package repl_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/wirelab/wirelab/internal/testbin"
)

var wirelab string

func TestMain(m *testing.M) { os.Exit(testbin.Main(m, &wirelab)) }

// session is wirelab's REPL on a pseudo-terminal, as a person sees it.
type session struct {
	t    *testing.T
	cmd  *exec.Cmd
	tty  *os.File
	out  testbin.Buffer
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
			s.out.Write(buf[:n])
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
	var before string
	found := false
	defer func() {
		if !found { // WaitFor failed the test
			s.t.Logf("the screen after the last match:\n%s", s.out.String()[s.seen:])
		}
	}()
	testbin.WaitFor(s.t, 10*time.Second, fmt.Sprintf("%q on the screen", want), func() bool {
		rest := s.out.String()[s.seen:]
		i := strings.Index(rest, want)
		if i >= 0 {
			s.seen += i + len(want)
			before = rest[:i]
		}
		return i >= 0
	})
	found = true
	return before
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
	s.expect(`"\004\000\000\000"`)
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
	s.line(`hexdump("hi\0")`)
	s.expect("00000000  68 69 00                                          |hi.|\r\n00000003\r\n")
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
	s.expect("c:recv_frame([{header=fmt, max=n, timeout=s}])")
	s.line("scripts()")
	s.expect("sticky_demo")
}

// TestInterruptAccept: Ctrl-C out of a forgotten accept, state intact.
func TestInterruptAccept(t *testing.T) {
	s := start(t, filepath.Join(t.TempDir(), "h"))
	s.line(`keep = "still here"`)
	s.line(`ln = socket.listen("127.0.0.1", 0)`)
	s.line(`print("accept" .. "ing"); ln:accept()`)
	s.expect("accepting\r\n") // the evaluation has begun: Ctrl-C interrupts it
	start := time.Now()
	s.send("\x03")
	s.expect("interrupted")
	if d := time.Since(start); d > time.Second {
		t.Fatalf("took %v", d)
	}
	s.line("keep")
	s.expect(`"still here"`)
	s.line(`print("loop" .. "ing"); while true do end`)
	s.expect("looping\r\n")
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
	s.expect(`"\003\000\000\000"`)
	s.line(`c:recv_exact(3)`)
	s.expect(`"hi\n"`)
	s.line(`srv`)
	s.expect("listening, 1 served>")
	// background output shows at an idle prompt at once, with no Enter,
	// and the prompt is drawn again below it. The tasks print once the
	// test has made their file, when the prompt is in the state to test.
	dir := t.TempDir()
	s.line(`function after(name) repeat task.sleep(0.01) until io.open("` + dir + `/" .. name) end`)
	s.line(`task.spawn(function() after("idle") print("from the background") end);`)
	s.expect("> ")
	os.WriteFile(filepath.Join(dir, "idle"), nil, 0o644)
	s.expect("from the background\r\n> ")
	// and while a line is being typed: the typed text is kept, and the
	// line entered after the output is the whole of it
	s.line(`task.spawn(function() after("typing") print("second " .. "print") end);`)
	s.expect("> ")
	s.send("answer = 4")
	s.expect("answer = 4")
	os.WriteFile(filepath.Join(dir, "typing"), nil, 0o644)
	s.expect("second print\r\n> ")
	s.send("2\r")
	s.line("answer * 10")
	s.expect("420")
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

// TestExitLeaves: os.exit in the -i script, at the prompt or in
// WIRELAB_INIT leaves the prompt with its code (the terminal restored, the
// runtime closed); in a background task it fails the task only.
func TestExitLeaves(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "s.lua")
	os.WriteFile(script, []byte("os.exit(3)\n"), 0o644)
	wait := func(s *session) int {
		t.Helper()
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			t.Fatal("did not leave")
		}
		s.cmd.Wait()
		return s.cmd.ProcessState.ExitCode()
	}
	if code := wait(start(t, filepath.Join(dir, "h"), "-i", script)); code != 3 {
		t.Errorf("-i script with os.exit(3): exit %d", code)
	}
	if code := wait(startWith(t, []string{"WIRELAB_HISTORY=", "WIRELAB_INIT=os.exit(4)"})); code != 4 {
		t.Errorf("WIRELAB_INIT with os.exit(4): exit %d", code)
	}
	s := start(t, filepath.Join(dir, "h"))
	s.line(`t = task.spawn(function() os.exit(5) end)`)
	s.line(`t:wait()`)
	s.expect(`false	"exit 5"`)
	s.line(`os.exit(6)`)
	if code := wait(s); code != 6 {
		t.Errorf("os.exit(6) at the prompt: exit %d", code)
	}
}
