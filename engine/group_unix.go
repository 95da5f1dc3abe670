//go:build !windows

package engine

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// shellCommand makes the command that runs the shell command line shell:
// /bin/sh -c.
func shellCommand(shell string) *exec.Cmd { return exec.Command("/bin/sh", "-c", shell) }

// setGroupAttr makes cmd the leader of a process group of its own, so
// that killing the group reaches its children.
func setGroupAttr(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// A procGroup is everything a command started: on Unix the process group
// that the command leads (its pid is the group's id).
type procGroup struct{ pid int }

// startGroup starts cmd, which setGroupAttr or ptyAttr made the leader of
// a group of its own.
func startGroup(cmd *exec.Cmd) (*procGroup, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &procGroup{pid: cmd.Process.Pid}, nil
}

// kill kills every process of the group.
func (g *procGroup) kill() { syscall.Kill(-g.pid, syscall.SIGKILL) }

// signal sends sig to every process of the group; a group already gone is
// no error.
func (g *procGroup) signal(sig syscall.Signal) error {
	if err := syscall.Kill(-g.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// exited tells the group that its leader was reaped.
func (g *procGroup) exited() {}

// release frees what the group holds once nothing will signal it again.
func (g *procGroup) release() {}

// signalName names the signal that ended the leader, or "" when it
// exited.
func (g *procGroup) signalName(ps *os.ProcessState) string {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal().String()
	}
	return ""
}

// outputPipe returns a pipe a child writes to, inputPipe one it reads
// from: os.Pipe, whose ends take deadlines on Unix.
func outputPipe() (r, w *os.File, err error) { return os.Pipe() }

func inputPipe() (r, w *os.File, err error) { return os.Pipe() }
