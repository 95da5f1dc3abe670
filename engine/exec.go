package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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
	// Shell, when Argv is empty, is run by /bin/sh -c (cmd.exe /d /s /c
	// on Windows).
	Shell string
	// Argv is the program and its arguments, run without a shell.
	Argv []string
	// Dir is the working directory ("" for the current one).
	Dir string
	// Env is added to the inherited environment, overriding same names.
	Env map[string]string
	// Stdin is fed to the command's standard input.
	Stdin []byte
	// Timeout, when positive, bounds the run; the whole process group
	// (on Windows, job object) is killed when it passes.
	Timeout time.Duration
	// MaxOutput bounds each of stdout and stderr (0: DefaultMaxOutput).
	// Output beyond it is read and dropped, so the command never blocks
	// on a full pipe, and Result.Truncated is set.
	MaxOutput int
	// Spool, when positive, collects the output into Result.StdoutBlob and
	// StderrBlob instead of Stdout and Stderr: up to Spool bytes of each in
	// memory, the rest in an unlinked temporary file. A server answering
	// big outputs to many clients then holds them on disk.
	Spool int64
	// Slots, when set, bounds how many commands run at once: Run waits in
	// its line first (Timeout counts from the start, not the wait), and
	// gives the slot back once the command's group is gone.
	Slots *Limiter
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
	// Held is set when a process that left the command's group still held
	// its output open pipeGrace after the command ended; what it wrote
	// after that is not in Stdout or Stderr.
	Held bool
	// StdoutBlob and StderrBlob hold the output when Command.Spool is set;
	// the caller closes them.
	StdoutBlob, StderrBlob *Blob
}

// A collector takes a command's output stream.
type collector interface {
	io.Writer
	cut() bool // whether output past the limit was dropped
}

// cappedBuffer keeps the first limit bytes written and counts the rest.
type cappedBuffer struct {
	buf     bytes.Buffer
	limit   int
	dropped bool
}

func (b *cappedBuffer) cut() bool { return b.dropped }

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.buf.Len(); room < len(p) {
		b.buf.Write(p[:max(room, 0)])
		b.dropped = true
		return len(p), nil
	}
	return b.buf.Write(p)
}

// pipeGrace is how long Run waits, after a command and its process group
// are gone, for output pipes that a process outside the group still holds.
const pipeGrace = 2 * time.Second

// Run runs a command to completion. stdout and stderr are drained at once
// by separate goroutines, to the end of the stream, so a command that
// fills one while the other is quiet does not deadlock and no output is
// lost however busy the machine is. The command leads its own process
// group; when it exits, when Timeout passes or when ctx is cancelled, the
// whole group is killed, so background children (cmd &) go with it. A
// process that left the group (setsid) and still holds the output open is
// waited for pipeGrace, then cut off: Result.Held says so. The error is
// nil when the command ran, whatever its status; it wraps ErrInterrupted
// on cancellation and is the start failure otherwise. With Command.Slots
// it first waits for a slot, which cancellation interrupts too.
func Run(ctx context.Context, c Command) (*Result, error) {
	if ctx.Err() != nil {
		return nil, &OpError{Op: "exec", Err: ErrInterrupted}
	}
	if c.Slots != nil {
		release, err := c.Slots.Acquire(ctx)
		if err != nil {
			return nil, &OpError{Op: "exec", Err: ErrInterrupted}
		}
		defer release()
	}
	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if c.Timeout > 0 {
		runCtx, cancel = context.WithTimeout(ctx, c.Timeout)
	}
	defer cancel()

	var pipes pipeSet
	defer pipes.closeAll()
	r, err := startCommand(c, &pipes)
	if err != nil {
		return nil, &OpError{Op: "exec", Err: err}
	}
	stdout, stderr := newCollectors(c)
	drained := r.drain(stdout, stderr, c.Stdin)
	waitErr := r.wait(runCtx)
	res := &Result{Held: r.awaitOutput(drained)}
	if err := res.keepOutput(c, stdout, stderr); err != nil {
		return nil, err
	}
	res.setStatus(r.cmd.ProcessState, r.group)
	switch {
	case ctx.Err() != nil:
		return res, &OpError{Op: "exec", Err: ErrInterrupted}
	case runCtx.Err() != nil && res.Signal == syscall.SIGKILL.String():
		res.TimedOut = true
		return res, nil
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) && r.cmd.ProcessState == nil {
		return nil, &OpError{Op: "exec", Err: waitErr}
	}
	return res, nil
}

// A running command: the process, leader of its own group, and our ends of
// its pipes.
type running struct {
	cmd        *exec.Cmd
	group      *procGroup
	outR, errR *os.File // its stdout and stderr
	inW        *os.File // its stdin, or nil when Command.Stdin is nil
}

// startCommand starts c with its streams on pipes of pipes, whose child
// ends it closes once the command has them.
func startCommand(c Command, pipes *pipeSet) (*running, error) {
	// The pipes are ours, not os/exec's: its Wait would close them a fixed
	// delay after the exit, dropping what a slow reader had not read yet.
	cmd := command(c.Argv, c.Shell, c.Dir, c.Env)
	r := &running{cmd: cmd}
	var outW, errW *os.File
	var err error
	if r.outR, outW, err = pipes.output(); err != nil {
		return nil, err
	}
	if r.errR, errW, err = pipes.output(); err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	if c.Stdin != nil {
		var inR *os.File
		if inR, r.inW, err = pipes.input(); err != nil {
			return nil, err
		}
		cmd.Stdin = inR
	}
	if r.group, err = startGroup(cmd); err != nil {
		return nil, err
	}
	pipes.closeChildEnds()
	return r, nil
}

// newCollectors returns what takes c's stdout and stderr: spoolers with
// Command.Spool, capped buffers otherwise, each bounded by MaxOutput.
func newCollectors(c Command) (stdout, stderr collector) {
	limit := c.MaxOutput
	if limit <= 0 {
		limit = DefaultMaxOutput
	}
	if c.Spool > 0 {
		return newSpooler(c.Spool, int64(limit)), newSpooler(c.Spool, int64(limit))
	}
	return &cappedBuffer{limit: limit}, &cappedBuffer{limit: limit}
}

// drain reads the command's stdout and stderr into their collectors, each
// on a goroutine of its own, to the end of the stream, and feeds it stdin
// (when there is a pipe for it) on a third. The channel is closed once
// both streams are read.
func (r *running) drain(stdout, stderr collector, stdin []byte) <-chan struct{} {
	var drained sync.WaitGroup
	drain := func(dst collector, src *os.File) {
		defer drained.Done()
		io.Copy(dst, src)
	}
	drained.Add(2)
	go drain(stdout, r.outR)
	go drain(stderr, r.errR)
	if r.inW != nil {
		go func() {
			r.inW.Write(stdin)
			r.inW.Close()
		}()
	}
	done := make(chan struct{})
	go func() { drained.Wait(); close(done) }()
	return done
}

// wait waits for the command to exit, killing its group first should
// runCtx end, and kills the group after: what the command left running in
// it goes with it. It returns the error of exec.Cmd.Wait.
func (r *running) wait(runCtx context.Context) error {
	exited := make(chan struct{})
	go func() {
		select {
		case <-runCtx.Done():
			r.group.kill()
		case <-exited:
		}
	}()
	err := r.cmd.Wait()
	r.group.exited()
	close(exited)
	// Output already written stays in the pipes and is read to the end.
	r.group.kill()
	r.group.release()
	return err
}

// awaitOutput waits for the output to be drained, at most pipeGrace once
// the group is gone, then cuts the pipes off; it reports whether it had
// to (Result.Held).
func (r *running) awaitOutput(drained <-chan struct{}) (held bool) {
	select {
	case <-drained:
		return false
	case <-time.After(pipeGrace):
		// Only a process outside the group can still hold the pipes.
		r.outR.SetReadDeadline(time.Now())
		r.errR.SetReadDeadline(time.Now())
		<-drained
		return true
	}
}

// keepOutput puts what the collectors took into res: Stdout and Stderr,
// or the blobs with Command.Spool, closed again when spooling failed.
func (res *Result) keepOutput(c Command, stdout, stderr collector) error {
	res.Truncated = stdout.cut() || stderr.cut()
	if c.Spool <= 0 {
		res.Stdout, res.Stderr = stdout.(*cappedBuffer).buf.Bytes(), stderr.(*cappedBuffer).buf.Bytes()
		return nil
	}
	var err1, err2 error
	res.StdoutBlob, err1 = stdout.(*spooler).result()
	res.StderrBlob, err2 = stderr.(*spooler).result()
	if err := errors.Join(err1, err2); err != nil {
		res.StdoutBlob.Close()
		res.StderrBlob.Close()
		return &OpError{Op: "exec", Err: fmt.Errorf("spooling the output: %w", err)}
	}
	return nil
}

// setStatus sets Code and Signal from how the command of group g ended
// (ps is nil when it was never waited for).
func (res *Result) setStatus(ps *os.ProcessState, g *procGroup) {
	if ps == nil {
		return
	}
	res.Code = ps.ExitCode()
	if res.Signal = g.signalName(ps); res.Signal != "" {
		res.Code = -1
	}
}

// A pipeSet holds the pipes of one command. The child's ends are closed
// once it has started (ours would keep its streams from ending), all of
// them when Run returns. They are our own rather than os/exec's
// StdoutPipe and Wait's copying: a grandchild that keeps a stream open
// must not hold Run past the command's end, and the output is bounded and
// spooled as it comes, which exec.Cmd's buffers do not do.
type pipeSet struct {
	child, all []*os.File
}

func (p *pipeSet) pipe(make func() (r, w *os.File, err error)) (r, w *os.File, err error) {
	if r, w, err = make(); err == nil {
		p.all = append(p.all, r, w)
	}
	return r, w, err
}

// output returns a pipe the child writes to; r is ours.
func (p *pipeSet) output() (r, w *os.File, err error) {
	r, w, err = p.pipe(outputPipe)
	if err == nil {
		p.child = append(p.child, w)
	}
	return r, w, err
}

// input returns a pipe the child reads from; w is ours.
func (p *pipeSet) input() (r, w *os.File, err error) {
	r, w, err = p.pipe(inputPipe)
	if err == nil {
		p.child = append(p.child, r)
	}
	return r, w, err
}

func (p *pipeSet) closeChildEnds() {
	for _, f := range p.child {
		f.Close()
	}
}

func (p *pipeSet) closeAll() {
	for _, f := range p.all {
		f.Close()
	}
}

// command makes the command of argv, or of shell run by /bin/sh -c
// (cmd.exe on Windows) when argv is empty, in dir with env added to
// wirelab's environment, to be started by startGroup as the leader of a
// process group of its own (on Windows, in a job object), so that killing
// the group reaches its children.
func command(argv []string, shell, dir string, env map[string]string) *exec.Cmd {
	var cmd *exec.Cmd
	if len(argv) == 0 {
		cmd = shellCommand(shell)
	} else {
		cmd = exec.Command(argv[0], argv[1:]...)
	}
	cmd.Dir = dir
	if len(env) > 0 {
		cmd.Env = os.Environ()
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	setGroupAttr(cmd)
	return cmd
}
