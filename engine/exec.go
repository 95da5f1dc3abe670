package engine

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// DefaultMaxOutput is the limit on each of a command's stdout and stderr
// when the caller sets none.
const DefaultMaxOutput = 16 << 20

// A Command describes a command to run.
type Command struct {
	// Shell, when Argv is empty, is run by /bin/sh -c.
	Shell string
	// Argv is the program and its arguments, run without a shell.
	Argv []string
	// Dir is the working directory ("" for the current one).
	Dir string
	// Env is added to the inherited environment, overriding same names.
	Env map[string]string
	// Stdin is fed to the command's standard input.
	Stdin []byte
	// Timeout, when positive, bounds the run; the whole process group is
	// killed when it passes.
	Timeout time.Duration
	// MaxOutput bounds each of stdout and stderr (0: DefaultMaxOutput).
	// Output beyond it is read and dropped, so the command never blocks
	// on a full pipe, and Result.Truncated is set.
	MaxOutput int
}

// A Result is what a command did.
type Result struct {
	Stdout, Stderr []byte
	// Code is the exit status, or -1 when a signal ended the command.
	Code int
	// Signal names the signal that ended the command, if one did.
	Signal string
	// TimedOut is set when Timeout passed and the command was killed.
	TimedOut bool
	// Truncated is set when output beyond MaxOutput was dropped.
	Truncated bool
}

// cappedBuffer keeps the first limit bytes written and counts the rest.
type cappedBuffer struct {
	buf     bytes.Buffer
	limit   int
	dropped bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.buf.Len(); room < len(p) {
		b.buf.Write(p[:max(room, 0)])
		b.dropped = true
		return len(p), nil
	}
	return b.buf.Write(p)
}

// Run runs a command to completion. stdout and stderr are drained at once
// by separate goroutines, so a command that fills one while the other is
// quiet does not deadlock. The command leads its own process group; when
// Timeout passes or ctx is cancelled, the whole group is killed, children
// included. The error is nil when the command ran, whatever its status; it
// wraps ErrInterrupted on cancellation and is the start failure otherwise.
func Run(ctx context.Context, c Command) (*Result, error) {
	if ctx.Err() != nil {
		return nil, &OpError{Op: "exec", Err: ErrInterrupted}
	}
	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if c.Timeout > 0 {
		runCtx, cancel = context.WithTimeout(ctx, c.Timeout)
	}
	defer cancel()

	argv := c.Argv
	if len(argv) == 0 {
		argv = []string{"/bin/sh", "-c", c.Shell}
	}
	cmd := exec.CommandContext(runCtx, argv[0], argv[1:]...)
	cmd.Dir = c.Dir
	if len(c.Env) > 0 {
		cmd.Env = os.Environ()
		for k, v := range c.Env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	if c.Stdin != nil {
		cmd.Stdin = bytes.NewReader(c.Stdin)
	}
	limit := c.MaxOutput
	if limit <= 0 {
		limit = DefaultMaxOutput
	}
	stdout, stderr := &cappedBuffer{limit: limit}, &cappedBuffer{limit: limit}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var once sync.Once
	cmd.Cancel = func() error {
		once.Do(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
		return nil
	}
	// A grandchild that escaped the group could hold the pipes open; stop
	// waiting for them a moment after the kill.
	cmd.WaitDelay = 100 * time.Millisecond

	err := cmd.Run()
	res := &Result{Stdout: stdout.buf.Bytes(), Stderr: stderr.buf.Bytes(), Truncated: stdout.dropped || stderr.dropped}
	if cmd.ProcessState != nil {
		res.Code = cmd.ProcessState.ExitCode()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.Signal = ws.Signal().String()
		}
	}
	if errors.Is(err, exec.ErrWaitDelay) {
		// A child left running still held the output pipes: it goes too.
		// Children that let go of them (cmd > log &) are left alone.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	switch {
	case ctx.Err() != nil:
		return res, &OpError{Op: "exec", Err: ErrInterrupted}
	case runCtx.Err() != nil:
		res.TimedOut = true
		return res, nil
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) && !errors.Is(err, exec.ErrWaitDelay) {
		if cmd.ProcessState == nil {
			return nil, &OpError{Op: "exec", Err: err}
		}
	}
	return res, nil
}
