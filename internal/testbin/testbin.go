// Package testbin holds what tests of real processes share: the wirelab
// command built once per test process, for the end-to-end tests of the
// packages that run it (the command's own, repl, scripts), and a wait for
// a process to be gone.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Main builds wirelab into a temporary directory, sets *path to the
// binary, runs the tests and removes the directory. It returns the exit
// status for os.Exit; a failed build prints the go command's output and
// returns 1 without running any test. A package's TestMain is
//
//	func TestMain(m *testing.M) { os.Exit(testbin.Main(m, &wirelab)) }
func Main(m *testing.M, path *string) int {
	dir, err := os.MkdirTemp("", "wirelab-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testbin:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "wirelab")
	// By import path: the tests of any package of the module build the
	// same command, from the checkout they are in.
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/wirelab/wirelab").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "testbin: building wirelab: %v\n%s", err, out)
		return 1
	}
	*path = bin
	return m.Run()
}

// WaitGone waits until the process pid has exited, at most 5 s, and fails
// t if it has not. A zombie counts as gone: a killed process whose parent
// is not the test (it was adopted by init) may wait a while to be reaped.
func WaitGone(t testing.TB, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		st, _ := exec.Command("ps", "-o", "stat=", "-p", strconv.Itoa(pid)).Output()
		if s := strings.TrimSpace(string(st)); s == "" || strings.HasPrefix(s, "Z") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d still running after 5 s", pid)
}
