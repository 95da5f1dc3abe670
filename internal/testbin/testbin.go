package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	_ "github.com/wirelab/wirelab/internal/winefix" // test binaries built for Wine remove files there
)

// BinaryEnv names the variable that gives Main a wirelab already built,
// to use instead of building one: under Wine, where the test binary runs
// and no Go toolchain does, the wirelab.exe built beside it.
const BinaryEnv = "WIRELAB_TEST_BINARY"

// Main builds wirelab into a temporary directory, sets *path to the
// binary, runs the tests and removes the directory. It returns the exit
// status for os.Exit; a failed build prints the go command's output and
// returns 1 without running any test. With BinaryEnv set, that binary is
// used and nothing is built. A package's TestMain is
//
//	func TestMain(m *testing.M) { os.Exit(testbin.Main(m, &wirelab)) }
func Main(m *testing.M, path *string) int {
	if bin := os.Getenv(BinaryEnv); bin != "" {
		*path = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "wirelab-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testbin:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "wirelab")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
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

// SkipWine skips t under Wine, saying which of Wine's limits keeps it
// from running there; on Windows itself and elsewhere it does nothing.
func SkipWine(t testing.TB, limit string) {
	t.Helper()
	if Wine() {
		t.Skip("skipped under Wine: " + limit)
	}
}

// SkipWindows skips t on Windows, saying what it needs that Windows has
// not (sh, a FIFO, a Unix tool).
func SkipWindows(t testing.TB, needs string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("skipped on Windows: needs " + needs)
	}
}

// WineUnix is the limit of Wine that keeps Unix-domain socket tests from
// running there.
const WineUnix = "Wine 8.0 has no AF_UNIX sockets (error 10047); runs on Windows 10 1803 and later"

// WineCPU is the limit of Wine that keeps tests that measure CPU time
// from running there.
const WineCPU = "Wine 8.0's GetProcessTimes is not monotonic (differences come out negative); runs on Windows"

// WineRST is the limit of Wine that keeps tests of a peer's reset from
// running there.
const WineRST = "Wine 8.0 reads a peer's reset (RST) as an orderly end of stream; runs on Windows"

// WineConsole is the limit of Wine that keeps tests of Ctrl-C from
// running there.
const WineConsole = "Wine 8.0 gives a process without a console window no console control events (GenerateConsoleCtrlEvent fails); runs on Windows"

// WineUDP is the limit of Wine that keeps UDP tests from running there.
const WineUDP = "Wine 8.0 fails Go's WSAIoctl(SIO_UDP_CONNRESET) on UDP sockets with error 10045; runs on Windows"
