// Package testbin builds the wirelab command once per test process, for
// the end-to-end tests of the packages that run it as a real process
// (the command's own, repl, scripts).
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
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
