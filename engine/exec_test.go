package engine

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wirelab/wirelab/internal/testbin"
)

// burnCPU keeps n shell loops spinning until the test ends, as a loaded
// machine would.
func burnCPU(t *testing.T, n int) {
	for i := 0; i < n; i++ {
		cmd := exec.Command("sh", "-c", "while :; do :; done")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
}

// TestRunLosesNoOutputUnderLoad runs many short commands at once on a busy
// machine: every answer must be whole. (A fixed delay between the exit and
// closing the pipes lost answers here.)
func TestRunLosesNoOutputUnderLoad(t *testing.T) {
	testbin.SkipWindows(t, "/bin/sh (exec_windows_test.go tests the same with cmd.exe)")
	burnCPU(t, 2)
	n := 400
	if testing.Short() {
		n = 60
	}
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := fmt.Sprintf("hello-%d\n", i)
			res, err := Run(context.Background(), Command{Shell: "echo hello-" + fmt.Sprint(i)})
			if err != nil || string(res.Stdout) != want || res.Code != 0 {
				errs <- fmt.Sprintf("%d: %q %v", i, res.Stdout, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	var lost []string
	for e := range errs {
		lost = append(lost, e)
	}
	if len(lost) > 0 {
		t.Fatalf("%d of %d answers wrong, e.g. %s", len(lost), n, lost[0])
	}
	// A big answer written just before exiting arrives whole.
	res, err := Run(context.Background(), Command{Shell: "head -c 5000000 /dev/zero"})
	if err != nil || len(res.Stdout) != 5000000 || res.Truncated {
		t.Fatalf("%d bytes, %v", len(res.Stdout), err)
	}
}

// TestRunKillsBackgroundChildren: a child left running when the command
// exits is killed with its group, and Run returns at once.
func TestRunKillsBackgroundChildren(t *testing.T) {
	testbin.SkipWindows(t, "/bin/sh (exec_windows_test.go tests the same with cmd.exe)")
	start := time.Now()
	res, err := Run(context.Background(), Command{Shell: "sleep 60 & echo started"})
	if err != nil || string(res.Stdout) != "started\n" || res.Held {
		t.Fatalf("%q %v held %v", res.Stdout, err, res.Held)
	}
	if d := time.Since(start); d > pipeGrace {
		t.Fatalf("took %v", d)
	}
}

// TestRunCutsOffEscapedWriters: a process that left the group and keeps
// the output open is waited for pipeGrace, then cut off, and Held says so.
func TestRunCutsOffEscapedWriters(t *testing.T) {
	testbin.SkipWindows(t, "/bin/sh (exec_windows_test.go tests the same with cmd.exe)")
	if testing.Short() {
		t.Skip("waits pipeGrace")
	}
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid")
	}
	start := time.Now()
	res, err := Run(context.Background(), Command{Shell: "setsid sh -c 'echo early; sleep 30; echo late' & sleep 0.2; echo main"})
	if err != nil || !res.Held || !strings.Contains(string(res.Stdout), "main") || strings.Contains(string(res.Stdout), "late") {
		t.Fatalf("%q %v held %v", res.Stdout, err, res.Held)
	}
	if d := time.Since(start); d > pipeGrace+3*time.Second {
		t.Fatalf("took %v", d)
	}
}

// TestRunStdinNotRead: input the command never reads does not block Run.
func TestRunStdinNotRead(t *testing.T) {
	testbin.SkipWindows(t, "/bin/sh (exec_windows_test.go tests the same with cmd.exe)")
	res, err := Run(context.Background(), Command{Shell: "echo done", Stdin: bytes.Repeat([]byte("x"), 1<<20)})
	if err != nil || string(res.Stdout) != "done\n" {
		t.Fatalf("%q %v", res.Stdout, err)
	}
	res, err = Run(context.Background(), Command{Argv: []string{"wc", "-c"}, Stdin: bytes.Repeat([]byte("x"), 1<<20)})
	if err != nil || strings.TrimSpace(string(res.Stdout)) != "1048576" {
		t.Fatalf("%q %v", res.Stdout, err)
	}
}
