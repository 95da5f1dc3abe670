package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// CPUTime is the processor time the test process has used (user and
// kernel): unlike the clock, what other processes do does not change it.
func CPUTime() time.Duration {
	var creation, exit, kernel, user windows.Filetime
	windows.GetProcessTimes(windows.CurrentProcess(), &creation, &exit, &kernel, &user)
	ticks := int64(kernel.HighDateTime)<<32 | int64(kernel.LowDateTime) + int64(user.HighDateTime)<<32 | int64(user.LowDateTime)
	return time.Duration(ticks * 100) // filetimes count 100 ns ticks
}

// Wine reports whether the test runs under Wine rather than Windows: its
// ntdll exports wine_get_version, which Windows' does not.
var Wine = sync.OnceValue(func() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
})

// WaitGone waits until the process pid has exited, at most 10 s, and fails
// t if it has not.
func WaitGone(t testing.TB, pid int) {
	t.Helper()
	WaitFor(t, 10*time.Second, fmt.Sprintf("process %d to be gone", pid), func() bool {
		h, err := windows.OpenProcess(windows.SYNCHRONIZE, false, uint32(pid))
		if err != nil {
			return true // no such process
		}
		defer windows.CloseHandle(h)
		ev, _ := windows.WaitForSingleObject(h, 0)
		return ev == windows.WAIT_OBJECT_0
	})
}

// Interruptible prepares cmd, before it starts, for Interrupt: on Windows
// it leads a console process group of its own, which a CTRL_BREAK_EVENT
// can be sent to without reaching the test.
func Interruptible(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.CreationFlags |= windows.CREATE_NEW_PROCESS_GROUP
}

// Interrupt sends p, started with Interruptible, what Ctrl-C sends: a
// console control event (CTRL_BREAK_EVENT; Go delivers it as os.Interrupt,
// as it does CTRL_C_EVENT). It fails where the test has no console to
// send it through, as under Wine (WineConsole).
func Interrupt(p *os.Process) error {
	return windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(p.Pid))
}

// Stop ends p for a test's cleanup: on Windows it is killed, since a
// console event reaches only a process started Interruptible, and under
// Wine none at all.
func Stop(p *os.Process) { p.Kill() }
