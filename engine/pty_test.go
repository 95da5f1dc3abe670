//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package engine

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/wirelab/wirelab/internal/testbin"
)

// startPTY starts s with a pseudo-terminal, closed when the test ends.
func startPTY(t *testing.T, s Spawn) *Process {
	t.Helper()
	s.PTY = true
	p, err := StartProcess(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// recvLine reads one line, without its "\n", failing the test on an error.
func recvLine(t *testing.T, c *Conn) string {
	t.Helper()
	line, err := c.RecvUntil(context.Background(), []byte("\n"), 1<<16)
	if err != nil {
		t.Fatalf("recvline: %q %v", line, err)
	}
	return string(line)
}

// TestSpawnPTYPython: a Python child whose stdout would be block-buffered
// on a pipe (PYTHONUNBUFFERED unset) answers line by line through a pty,
// and goes on running between the answers.
func TestSpawnPTYPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the Python pty test is not run (the sh and cat ones are)")
	}
	t.Setenv("PYTHONUNBUFFERED", "")
	os.Unsetenv("PYTHONUNBUFFERED")
	src := "import sys\nprint('ready', sys.stdin.isatty(), sys.stdout.isatty())\nwhile True:\n    print(input()[::-1])\n"
	p := startPTY(t, Spawn{Argv: []string{py, "-c", src}})
	c := p.Conn()
	if got := recvLine(t, c); got != "ready True True" {
		t.Fatalf("first line %q", got)
	}
	for _, word := range []string{"wirelab", "pty", "line by line"} {
		c.Send(context.Background(), []byte(word+"\n"))
		want := []rune(word)
		for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
			want[i], want[j] = want[j], want[i]
		}
		if got := recvLine(t, c); got != string(want) {
			t.Fatalf("answer to %q: %q", word, got)
		}
		if p.Exited() {
			t.Fatalf("python ended after answering %q: %s", word, p)
		}
	}
	// A terminal hung up ends the program; nothing more goes either way.
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Wait(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(context.Background(), []byte("late\n")); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after CloseWrite: %v", err)
	}
}

// TestSpawnPTYRaw: the terminal is raw from the first byte: nothing is
// echoed, "\r" and "\n" pass untranslated both ways, and stdin, stdout and
// (merged) stderr are the terminal.
func TestSpawnPTYRaw(t *testing.T) {
	p := startPTY(t, Spawn{Shell: `test -t 0 && test -t 1 && test -t 2 && echo tty; echo err >&2; exec cat`})
	c := p.Conn()
	ctx := context.Background()
	if got := recvLine(t, c); got != "tty" {
		t.Fatalf("first line %q", got)
	}
	if got := recvLine(t, c); got != "err" {
		t.Fatalf("merged stderr %q", got)
	}
	// Echo would double the bytes, ICRNL would turn "\r" into "\n",
	// ONLCR "\n" into "\r\n": the marker after them shows nothing else came.
	msg := "one\r\ntwo\rthree\n\x01\x7f end\n"
	c.Send(ctx, []byte(msg))
	got, err := c.RecvExact(ctx, len(msg))
	if err != nil || string(got) != msg {
		t.Fatalf("cat through the pty: %q %v, want %q", got, err, msg)
	}
	c.Send(ctx, []byte("marker\n"))
	if got := recvLine(t, c); got != "marker" {
		t.Fatalf("after the raw bytes: %q", got)
	}
}

// TestSpawnPTYStderrPipe: with StderrPipe, standard error stays a pipe of
// its own while stdin and stdout are the terminal.
func TestSpawnPTYStderrPipe(t *testing.T) {
	p := startPTY(t, Spawn{Shell: `test -t 2 || echo "not a tty" >&2; echo out`, Stderr: StderrPipe})
	c := p.Conn()
	out, err := c.RecvAll(context.Background(), 1<<16)
	if string(out) != "out\n" || err != nil {
		t.Fatalf("stdout %q %v", out, err)
	}
	if code, _, err := p.Wait(context.Background(), 0); code != 0 || err != nil {
		t.Fatalf("exit %d %v", code, err)
	}
	if e, _ := p.Stderr(); string(e) != "not a tty\n" {
		t.Fatalf("stderr %q", e)
	}
}

// TestSpawnPTYCloseWrite: CloseWrite hangs the terminal up: a program
// waiting for input gets SIGHUP, and later sends and receives fail with
// ErrClosed rather than waiting.
func TestSpawnPTYCloseWrite(t *testing.T) {
	p := startPTY(t, Spawn{Argv: []string{"cat"}})
	c := p.Conn()
	ctx := context.Background()
	c.Send(ctx, []byte("ping\n"))
	if got := recvLine(t, c); got != "ping" {
		t.Fatalf("cat's answer %q", got)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if code, sig, err := p.Wait(ctx, 0); code != -1 || sig != "hangup" || err != nil {
		t.Fatalf("after the hangup: exit %d %q %v", code, sig, err)
	}
	if _, err := c.Send(ctx, []byte("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after CloseWrite: %v", err)
	}
	if _, err := c.RecvAll(ctx, 100); !errors.Is(err, ErrClosed) {
		t.Fatalf("receive after CloseWrite: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close after CloseWrite: %v", err)
	}
}

// TestSpawnPTYKillsGroup: a pty process's background children die with
// it, when it is killed and when it exits.
func TestSpawnPTYKillsGroup(t *testing.T) {
	for _, tc := range []struct{ name, shell string }{
		{"killed", "sleep 30 & echo $!; wait"},
		{"exits", "sleep 30 & echo $!; read x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startPTY(t, Spawn{Shell: tc.shell})
			c := p.Conn()
			child, err := strconv.Atoi(strings.TrimSpace(recvLine(t, c)))
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "killed" {
				p.Kill(syscall.SIGKILL)
			} else {
				c.Send(context.Background(), []byte("\n"))
			}
			<-p.Done()
			testbin.WaitGone(t, child)
		})
	}
}

// TestSpawnPTYKillsSession: an interactive shell on the pty (job control
// on) runs a background job in a process group of its own; closing the
// process kills it too, as the rest of the shell's session.
func TestSpawnPTYKillsSession(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the session is killed on Linux only")
	}
	p := startPTY(t, Spawn{Argv: []string{"sh", "-i"}})
	c := p.Conn()
	ctx := context.Background()
	c.Send(ctx, []byte("sleep 30 & echo pid=$!\n"))
	if _, err := c.RecvUntil(ctx, []byte("pid="), 1<<16); err != nil {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(recvLine(t, c)))
	if err != nil {
		t.Fatal(err)
	}
	if pg, _ := syscall.Getpgid(child); pg == p.Pid() {
		t.Fatalf("the job is in the shell's group %d: the test shows nothing", pg)
	}
	p.Close()
	<-p.Done()
	testbin.WaitGone(t, child)
}
