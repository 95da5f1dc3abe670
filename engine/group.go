package engine

import (
	"os"
	"os/exec"
)

// ShellCommand returns the command that runs the command line line by
// the system's shell, /bin/sh -c (cmd.exe /d /s /c on Windows), made to
// be started by StartGroup.
func ShellCommand(line string) *exec.Cmd {
	cmd := shellCommand(line)
	setGroupAttr(cmd)
	return cmd
}

// A Group is a command that StartGroup started with every process it
// starts: on Unix its process group, on Windows a job object. Run and
// StartProcess use one each.
type Group struct{ g *procGroup }

// StartGroup starts cmd, made by ShellCommand, as the leader of a group
// of its own; it returns cmd.Start's error, or the job object's on
// Windows.
func StartGroup(cmd *exec.Cmd) (*Group, error) {
	g, err := startGroup(cmd)
	if err != nil {
		return nil, err
	}
	return &Group{g: g}, nil
}

// Kill kills every process of the group. Killing twice, or a group whose
// processes have all ended, is harmless.
func (g *Group) Kill() { g.g.kill() }

// Release frees what the group holds; it kills what is left of it on
// Windows. Call it once the command was waited for.
func (g *Group) Release() { g.g.release() }

// OutputPipe returns a pipe for a child to write to: r is the caller's
// end, which takes read deadlines on every system (os.Pipe's ends do not
// on Windows).
func OutputPipe() (r, w *os.File, err error) { return outputPipe() }

// InputPipe returns a pipe for a child to read from: w is the caller's
// end, which takes write deadlines on every system.
func InputPipe() (r, w *os.File, err error) { return inputPipe() }
