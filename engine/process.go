package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// StderrMode says where a spawned process's standard error goes.
type StderrMode int

const (
	// StderrMerge sends standard error into the same pipe as standard
	// output, so the Conn reads both, interleaved as written (pwntools'
	// stderr=STDOUT).
	StderrMerge StderrMode = iota
	// StderrPipe collects standard error apart, in memory, for
	// Process.Stderr.
	StderrPipe
)

// DefaultMaxStderr bounds the standard error a StderrPipe process holds
// that nobody has taken yet: 1 MiB.
const DefaultMaxStderr = 1 << 20

// A Spawn describes a process to start and talk to.
type Spawn struct {
	// Shell, when Argv is empty, is run by /bin/sh -c (cmd.exe /d /s /c
	// on Windows).
	Shell string
	// Argv is the program and its arguments, run without a shell.
	Argv []string
	// Dir is the working directory ("" for the current one).
	Dir string
	// Env is added to the inherited environment, overriding same names.
	Env map[string]string
	// Stderr is where standard error goes.
	Stderr StderrMode
	// MaxStderr bounds the standard error held for Stderr (0:
	// DefaultMaxStderr); past it, bytes are dropped and counted.
	MaxStderr int
	// PTY makes the process's stdin and stdout a pseudo-terminal in raw
	// mode (no echo, no CR/LF translation), and its stderr too with
	// StderrMerge (StderrPipe keeps a pipe), as pwntools' stdout=PTY: a
	// program that buffers its output by blocks on a pipe sees a terminal
	// and writes line by line. The process leads a session of its own,
	// with the terminal as its controlling terminal; when it ends, its
	// group is killed and (on Linux) the rest of its session, where a
	// job-control shell puts its jobs. Conn().CloseWrite hangs the
	// terminal up (see ptyConn.CloseWrite). Where there are no
	// pseudo-terminals StartProcess fails with an error that says so.
	PTY bool
}

// A Process is a running program whose standard input and output are a
// Conn: what is sent goes to its stdin, what is received comes from its
// stdout, with every receive and send a connection has (exact reads,
// delimiters, frames, timeouts, Unrecv). It leads a process group of its
// own (on Windows, a job object); Kill signals the whole group, and when
// the leader exits the rest of the group is killed, as Run does.
type Process struct {
	conn  *Conn
	cmd   *exec.Cmd
	group *procGroup
	pid   int
	pty   bool          // the process leads a session on a pseudo-terminal
	done  chan struct{} // closed once the leader is reaped
	stop  func() bool   // unregisters the kill on ctx's cancellation

	mu     sync.Mutex
	state  *os.ProcessState
	reaped bool // the leader was waited for and its group killed

	// Standard error, with StderrPipe.
	errDone    chan struct{} // closed at the end of the stream; nil when merged
	errBuf     []byte
	errDropped int64
	maxErr     int
}

// StartProcess starts s. Cancelling ctx kills the process group and closes
// the pipes, as Close does: ctx is the lifetime of whoever owns the
// process. A program that cannot start returns the error.
func StartProcess(ctx context.Context, s Spawn) (*Process, error) {
	if ctx.Err() != nil {
		return nil, &OpError{Op: "spawn", Err: ErrInterrupted}
	}
	cmd := command(s.Argv, s.Shell, s.Dir, s.Env)

	var pipes pipeSet
	ok := false
	defer func() {
		if !ok {
			pipes.closeAll()
		}
	}()
	var nc net.Conn
	if s.PTY {
		master, tty, err := openPTY()
		if err != nil {
			return nil, &OpError{Op: "spawn", Err: err}
		}
		pipes.all = append(pipes.all, master, tty)
		pipes.child = append(pipes.child, tty)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
		cmd.SysProcAttr = ptyAttr()
		nc = &ptyConn{f: master}
	} else {
		inR, inW, err := pipes.input()
		if err != nil {
			return nil, &OpError{Op: "spawn", Err: err}
		}
		outR, outW, err := pipes.output()
		if err != nil {
			return nil, &OpError{Op: "spawn", Err: err}
		}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, outW
		nc = &pipeConn{r: outR, w: inW}
	}
	var errR *os.File
	var err error
	if s.Stderr == StderrPipe {
		var errW *os.File
		if errR, errW, err = pipes.output(); err != nil {
			return nil, &OpError{Op: "spawn", Err: err}
		}
		cmd.Stderr = errW
	}
	group, err := startGroup(cmd)
	if err != nil {
		return nil, &OpError{Op: "spawn", Err: err}
	}
	ok = true
	pipes.closeChildEnds()

	p := &Process{cmd: cmd, group: group, pid: cmd.Process.Pid, pty: s.PTY, done: make(chan struct{}), maxErr: s.MaxStderr}
	if p.maxErr <= 0 {
		p.maxErr = DefaultMaxStderr
	}
	switch c := nc.(type) {
	case *pipeConn:
		c.addr = procAddr(p.pid)
	case *ptyConn:
		c.addr = procAddr(p.pid)
	}
	p.conn = NewConn(nc)
	if errR != nil {
		p.errDone = make(chan struct{})
		go p.drainStderr(errR)
	}
	go p.reap()
	p.stop = context.AfterFunc(ctx, func() { p.Close() })
	return p, nil
}

// reap waits for the leader, then kills what it left in its group, and
// with a pty in its session (where a job-control shell puts its jobs in
// groups of their own).
func (p *Process) reap() {
	p.cmd.Wait()
	p.group.exited()
	p.mu.Lock()
	p.group.kill()
	p.group.release()
	if p.pty {
		killSession(p.pid)
	}
	p.state, p.reaped = p.cmd.ProcessState, true
	p.mu.Unlock()
	close(p.done)
}

// drainStderr collects standard error until its end, keeping at most
// maxErr bytes that nobody has taken.
func (p *Process) drainStderr(r *os.File) {
	defer close(p.errDone)
	defer r.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			p.mu.Lock()
			keep := min(n, p.maxErr-len(p.errBuf))
			p.errBuf = append(p.errBuf, buf[:keep]...)
			p.errDropped += int64(n - keep)
			p.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// Conn returns the connection to the process's stdin and stdout.
func (p *Process) Conn() *Conn { return p.conn }

// Pid returns the process id, which is also its process group's id on
// Unix.
func (p *Process) Pid() int { return p.pid }

// Stderr returns the standard error collected since the last call, and
// how many bytes were dropped because more than MaxStderr waited. It
// never blocks; with StderrMerge it returns nothing.
func (p *Process) Stderr() ([]byte, int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, dropped := p.errBuf, p.errDropped
	p.errBuf, p.errDropped = nil, 0
	return b, dropped
}

// Done is closed once the process has ended and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has ended and been reaped.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits for the process to end, at most timeout (0 or less: as long
// as it takes), and returns its exit code, or -1 and the signal's name
// when a signal ended it. With StderrPipe it also waits, briefly, for the
// end of standard error, so that Stderr then holds all of it. It fails
// with ErrTimeout or ErrInterrupted; the process goes on either way.
func (p *Process) Wait(ctx context.Context, timeout time.Duration) (code int, signal string, err error) {
	var expire <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expire = t.C
	}
	select {
	case <-p.done:
	case <-expire:
		return 0, "", &OpError{Op: "wait", Err: ErrTimeout}
	case <-ctx.Done():
		return 0, "", &OpError{Op: "wait", Err: ErrInterrupted}
	}
	if p.errDone != nil {
		// The group is dead, so the stream ends at once unless a process
		// that left the group holds it.
		select {
		case <-p.errDone:
		case <-time.After(pipeGrace):
		case <-ctx.Done():
		}
	}
	return p.status()
}

// status returns the exit status once the leader is reaped.
func (p *Process) status() (int, string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.state
	if st == nil {
		return 0, "", &OpError{Op: "wait", Err: errors.New("not started")}
	}
	if sig := p.group.signalName(st); sig != "" {
		return -1, sig, nil
	}
	return st.ExitCode(), "", nil
}

// Kill sends sig to the process's whole group. Once the process has
// exited and been reaped it does nothing: its group is gone. Windows has
// no signals: there KILL, TERM, INT, HUP and QUIT terminate the job
// object (the process and its children), other signals fail.
func (p *Process) Kill(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return nil
	}
	if err := p.group.signal(sig); err != nil {
		return &OpError{Op: "kill", Err: err}
	}
	return nil
}

// Close kills the process group and closes the pipes. Closing twice is
// harmless.
func (p *Process) Close() error {
	p.stop()
	p.Kill(syscall.SIGKILL)
	return p.conn.Close()
}

// String describes the process: its pid and state.
func (p *Process) String() string {
	if !p.Exited() {
		return fmt.Sprintf("%d running", p.pid)
	}
	code, sig, _ := p.status()
	if sig != "" {
		return fmt.Sprintf("%d %s", p.pid, sig)
	}
	return fmt.Sprintf("%d exited %d", p.pid, code)
}

// pipeConn is a process's stdout and stdin seen as a net.Conn, so that a
// Conn can drive it. os.Pipe's files take deadlines, which the Conn's
// timeouts and cancellation use.
type pipeConn struct {
	r, w *os.File
	addr procAddr
}

func (pc *pipeConn) Read(b []byte) (int, error)  { return pc.r.Read(b) }
func (pc *pipeConn) Write(b []byte) (int, error) { return pc.w.Write(b) }

// Close closes both pipes.
func (pc *pipeConn) Close() error {
	err := pc.r.Close()
	if werr := pc.w.Close(); werr != nil && !errors.Is(werr, os.ErrClosed) {
		err = errors.Join(err, werr)
	}
	return err
}

// CloseWrite closes the process's stdin: it reads end of file.
func (pc *pipeConn) CloseWrite() error                  { return pc.w.Close() }
func (pc *pipeConn) LocalAddr() net.Addr                { return pc.addr }
func (pc *pipeConn) RemoteAddr() net.Addr               { return pc.addr }
func (pc *pipeConn) SetReadDeadline(t time.Time) error  { return pc.r.SetReadDeadline(t) }
func (pc *pipeConn) SetWriteDeadline(t time.Time) error { return pc.w.SetWriteDeadline(t) }
func (pc *pipeConn) SetDeadline(t time.Time) error {
	return errors.Join(pc.r.SetReadDeadline(t), pc.w.SetWriteDeadline(t))
}

// procAddr is the address of a process's pipes: its pid.
type procAddr int

// Network implements net.Addr.
func (a procAddr) Network() string { return "process" }

// String implements net.Addr.
func (a procAddr) String() string { return fmt.Sprintf("pid %d", int(a)) }

// ptyConn is the master side of a process's pseudo-terminal seen as a
// net.Conn: what is written is the program's input, what is read its
// output. The master is pollable, so deadlines work as on pipes.
type ptyConn struct {
	f    *os.File
	addr procAddr
}

// Read reads the program's output. Once every process has closed the
// terminal, the master reads EIO (Linux): that is the end of the stream.
func (pc *ptyConn) Read(b []byte) (int, error) {
	n, err := pc.f.Read(b)
	if errors.Is(err, syscall.EIO) {
		err = io.EOF
	}
	return n, err
}

// Write sends to the program's input.
func (pc *ptyConn) Write(b []byte) (int, error) {
	n, err := pc.f.Write(b)
	if errors.Is(err, syscall.EIO) {
		err = syscall.EPIPE
	}
	return n, err
}

// Close closes the master: the program's terminal is hung up. Closing
// twice (after CloseWrite) is harmless.
func (pc *ptyConn) Close() error {
	if err := pc.f.Close(); !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}

// CloseWrite hangs the terminal up, since a terminal in raw mode has no
// end of file: the master is closed, as when a terminal window closes.
// The program gets SIGHUP (it leads the terminal's session), a read it
// is blocked in fails with EIO and later ones read end of file. Output
// not received yet is lost; later sends and receives fail with
// os.ErrClosed.
func (pc *ptyConn) CloseWrite() error { return pc.Close() }

func (pc *ptyConn) LocalAddr() net.Addr                { return pc.addr }
func (pc *ptyConn) RemoteAddr() net.Addr               { return pc.addr }
func (pc *ptyConn) SetReadDeadline(t time.Time) error  { return pc.f.SetReadDeadline(t) }
func (pc *ptyConn) SetWriteDeadline(t time.Time) error { return pc.f.SetWriteDeadline(t) }
func (pc *ptyConn) SetDeadline(t time.Time) error      { return pc.f.SetDeadline(t) }

var (
	_ net.Conn = (*pipeConn)(nil)
	_ net.Conn = (*ptyConn)(nil)
)
