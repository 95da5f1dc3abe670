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

// WaitFor waits until cond reports true, checking it at once and then
// every 10 ms, and fails t with "waited LIMIT for WHAT" if it still does not
// after limit. It is for events a test cannot be told of, only observe
// (a file that appears, a line in a process's output); the limit is a
// bound on a hang, not a margin the test relies on, so make it generous.
func WaitFor(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	// cond is checked after every sleep, the last one included, so a
	// machine that stalled past the deadline still gets its last look.
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", limit, what)
		}
	}
}

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
