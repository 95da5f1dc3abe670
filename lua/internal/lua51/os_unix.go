//go:build !windows

package lua51

import (
	"context"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// cpuTime is the processor time of the process (user and system), or
// false when the system does not tell.
func cpuTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

// shellCommand is the command system() runs for line: /bin/sh -c.
func shellCommand(ctx context.Context, line string) *exec.Cmd {
	return exec.CommandContext(ctx, "/bin/sh", "-c", line)
}

// systemStatus is what C's system returns for a command that ended as ps
// says (nil: no shell ran): the wait status (exit code 3 is 768), or
// 127<<8 when no shell ran.
func systemStatus(ps *os.ProcessState) int {
	if ps != nil {
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
			return int(ws)
		}
	}
	return 127 << 8
}
