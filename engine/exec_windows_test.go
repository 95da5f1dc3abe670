package engine

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests of Run and StartProcess on Windows, with the commands cmd.exe
// has (echo, type, set /p, start /b) and ping -n for a slow one; the Unix
// tests drive /bin/sh. Each would fail without what it checks: the tree
// kill of the job object, the shell's command line passed whole, the
// output read to the end, the pipes' deadlines.

// slow is a cmd.exe command that runs about n seconds.
func slow(n int) string { return "ping -n " + strconv.Itoa(n+1) + " 127.0.0.1" }

// TestWindowsShellLine: a string runs by cmd.exe as written (quotes kept,
// & and >&2 are cmd's), an argv table runs without a shell, and the exit
// code is the command's.
func TestWindowsShellLine(t *testing.T) {
	ctx := context.Background()
	res, err := Run(ctx, Command{Shell: `echo "a  b"& echo err>&2& exit /b 3`})
	if err != nil || string(res.Stdout) != "\"a  b\"\r\n" || string(res.Stderr) != "err\r\n" || res.Code != 3 || res.Signal != "" {
		t.Fatalf("stdout %q stderr %q code %d signal %q %v", res.Stdout, res.Stderr, res.Code, res.Signal, err)
	}
	res, err = Run(ctx, Command{Argv: []string{"cmd.exe", "/c", "echo", "argv"}})
	if err != nil || string(res.Stdout) != "argv\r\n" || res.Code != 0 {
		t.Fatalf("stdout %q code %d %v", res.Stdout, res.Code, err)
	}
	res, err = Run(ctx, Command{Shell: "echo %WIRELAB_X%", Env: map[string]string{"WIRELAB_X": "set"}})
	if err != nil || string(res.Stdout) != "set\r\n" {
		t.Fatalf("env: %q %v", res.Stdout, err)
	}
}

// TestWindowsTimeoutKillsTree: on timeout the command and the child it
// started in the background are ended together (TerminateJobObject), so
// Run returns at once: the child, had it lived, would hold the output
// open and Run would wait pipeGrace for it (Held).
func TestWindowsTimeoutKillsTree(t *testing.T) {
	start := time.Now()
	res, err := Run(context.Background(), Command{Shell: "start /b " + slow(60) + "& " + slow(60), Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimedOut || res.Signal != syscall.SIGKILL.String() || res.Code != -1 || res.Held {
		t.Fatalf("timed out %v signal %q code %d held %v", res.TimedOut, res.Signal, res.Code, res.Held)
	}
	if d := time.Since(start); d >= pipeGrace {
		t.Fatalf("took %v", d)
	}
}

// TestWindowsExitKillsTree: a child left running when the command exits
// goes with it, and Run returns at once.
func TestWindowsExitKillsTree(t *testing.T) {
	start := time.Now()
	res, err := Run(context.Background(), Command{Shell: "start /b " + slow(60) + "& echo started"})
	if err != nil || !strings.Contains(string(res.Stdout), "started\r\n") || res.Held || res.Code != 0 || res.Signal != "" {
		t.Fatalf("%q %v held %v code %d signal %q", res.Stdout, err, res.Held, res.Code, res.Signal)
	}
	if d := time.Since(start); d >= pipeGrace {
		t.Fatalf("took %v", d)
	}
}

// TestWindowsCancel: cancelling ends the tree and Run with ErrInterrupted.
func TestWindowsCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := Run(ctx, Command{Shell: "start /b " + slow(60) + "& " + slow(60)})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("%v, want ErrInterrupted", err)
	}
	if d := time.Since(start); d >= pipeGrace {
		t.Fatalf("took %v", d)
	}
}

// TestWindowsOutputDrained: 5 MB that type writes just before it exits
// arrive whole, and input the command never reads does not block Run.
func TestWindowsOutputDrained(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.bin")
	want := bytes.Repeat([]byte("0123456789abcdef"), 5_000_000/16)
	if err := os.WriteFile(path, want, 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Command{Shell: `type "` + path + `"`})
	if err != nil || !bytes.Equal(res.Stdout, want) || res.Truncated {
		t.Fatalf("%d bytes, %v", len(res.Stdout), err)
	}
	res, err = Run(context.Background(), Command{Shell: "echo done", Stdin: bytes.Repeat([]byte("x"), 1<<20)})
	if err != nil || string(res.Stdout) != "done\r\n" {
		t.Fatalf("%q %v", res.Stdout, err)
	}
}

// TestWindowsProcessConversation: a spawned cmd.exe reads what is sent,
// a receive with nothing to read times out on the pipe (it takes
// deadlines) and the process goes on, stderr is apart, the exit code
// comes back; Kill ends a process with what it started.
func TestWindowsProcessConversation(t *testing.T) {
	ctx := context.Background()
	p, err := StartProcess(ctx, Spawn{Shell: "echo ready& set /p l=& call echo got %l%& echo bye>&2& exit /b 3", Stderr: StderrPipe})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := p.Conn()
	if line, err := c.RecvUntil(ctx, []byte("\r\n"), 100); string(line) != "ready" {
		t.Fatalf("%q %v", line, err)
	}
	if _, err := c.Recv(WithOpTimeout(ctx, 50*time.Millisecond), 10); !errors.Is(err, ErrTimeout) {
		t.Fatalf("%v, want timeout", err)
	}
	c.Send(ctx, []byte("one\r\n"))
	if rest, err := c.RecvAll(ctx, 100); string(rest) != "got one\r\n" || err != nil {
		t.Fatalf("%q %v", rest, err)
	}
	code, sig, err := p.Wait(ctx, 10*time.Second)
	if code != 3 || sig != "" || err != nil {
		t.Fatalf("code %d signal %q %v", code, sig, err)
	}
	if e, _ := p.Stderr(); string(e) != "bye\r\n" {
		t.Fatalf("stderr %q", e)
	}

	q, err := StartProcess(ctx, Spawn{Shell: "start /b " + slow(60) + "& " + slow(60)})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, _, err := q.Wait(ctx, 20*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("%v, want timeout", err)
	}
	if err := q.Kill(syscall.Signal(10)); err == nil || !strings.Contains(err.Error(), "Windows has no signals") {
		t.Fatalf("kill 10: %v", err)
	}
	if err := q.Kill(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, sig, err = q.Wait(ctx, 5*time.Second)
	if code != -1 || sig != syscall.SIGKILL.String() || err != nil {
		t.Fatalf("code %d signal %q %v", code, sig, err)
	}
	// The background ping went with it: the output ends at once.
	if _, err := q.Conn().RecvAll(WithOpTimeout(ctx, pipeGrace), 1<<20); err != nil {
		t.Fatalf("output after the kill: %v", err)
	}
}
