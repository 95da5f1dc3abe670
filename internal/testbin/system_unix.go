//go:build !windows

package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// CPUTime is the processor time the test process has used (user and
// system): unlike the clock, what other processes do does not change it.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Wine reports whether the test runs under Wine: never on Unix.
func Wine() bool { return false }

// WaitGone waits until the process pid has exited, at most 10 s, and fails
// t if it has not. A zombie counts as gone: a killed process whose parent
// is not the test (it was adopted by init) may wait a while to be reaped.
func WaitGone(t testing.TB, pid int) {
	t.Helper()
	WaitFor(t, 10*time.Second, fmt.Sprintf("process %d to be gone", pid), func() bool {
		st, _ := exec.Command("ps", "-o", "stat=", "-p", strconv.Itoa(pid)).Output()
		s := strings.TrimSpace(string(st))
		return s == "" || strings.HasPrefix(s, "Z")
	})
}

// Interruptible prepares cmd, before it starts, for Interrupt; on Unix
// there is nothing to do.
func Interruptible(cmd *exec.Cmd) {}

// Interrupt sends p what Ctrl-C sends: SIGINT.
func Interrupt(p *os.Process) error { return p.Signal(os.Interrupt) }

// Stop asks p to stop as Ctrl-C does, for a test's cleanup.
func Stop(p *os.Process) { p.Signal(os.Interrupt) }
