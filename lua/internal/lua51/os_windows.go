package lua51

import (
	"context"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/windows"
)

// cpuTime is the processor time of the process (user and kernel), or
// false when the system does not tell.
func cpuTime() (time.Duration, bool) {
	var creation, exit, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(windows.CurrentProcess(), &creation, &exit, &kernel, &user); err != nil {
		return 0, false
	}
	// Filetimes count 100 ns ticks.
	ticks := int64(kernel.HighDateTime)<<32 | int64(kernel.LowDateTime) + int64(user.HighDateTime)<<32 | int64(user.LowDateTime)
	return time.Duration(ticks * 100), true
}

// shellCommand is the command system() runs for line: cmd.exe /d /s /c,
// given its command line whole (cmd.exe does not unquote arguments as the
// C runtime does, which is how Go would quote them).
func shellCommand(ctx context.Context, line string) *exec.Cmd {
	comspec := os.Getenv("ComSpec")
	if comspec == "" {
		comspec = "cmd.exe"
	}
	cmd := exec.CommandContext(ctx, comspec)
	cmd.SysProcAttr = &syscall.SysProcAttr{CmdLine: `"` + comspec + `" /d /s /c "` + line + `"`}
	return cmd
}

// systemStatus is what the C runtime's system returns on Windows for a
// command that ended as ps says: the command's exit code, or -1 when no
// shell ran.
func systemStatus(ps *os.ProcessState) int {
	if ps != nil {
		return ps.ExitCode()
	}
	return -1
}
