package main

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/wirelab/wirelab/internal/testbin"
)

// TestSpawnedProcessesDieWithTheScript: a script that spawns programs and
// ends without closing them leaves no process behind, neither the program
// nor the children it started in the background; nor does one that fails
// or is interrupted.
func TestSpawnedProcessesDieWithTheScript(t *testing.T) {
	testbin.SkipWindows(t, "sh and sleep (engine's exec_windows_test.go kills trees of cmd.exe)")
	for _, tc := range []struct{ name, tail string }{
		{"returns", ""},
		{"fails", "error('on purpose')"},
		{"interrupted", "io.stdout:flush() task.sleep(60)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			script := `local p = exec.spawn("sleep 60 & echo $!; wait")
local child = p:recvline()
print(p:pid(), child)
local q = exec.spawn({"sleep", "60"})
print(q:pid())
` + tc.tail
			cmd := exec.Command(binary, "-e", script)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 256)
			var got string
			for strings.Count(got, "\n") < 2 {
				n, err := out.Read(buf)
				if err != nil {
					t.Fatalf("read %q: %v", got, err)
				}
				got += string(buf[:n])
			}
			if tc.name == "interrupted" {
				cmd.Process.Signal(os.Interrupt)
			}
			cmd.Wait()
			for _, f := range strings.Fields(got) {
				pid, err := strconv.Atoi(f)
				if err != nil {
					t.Fatalf("output %q", got)
				}
				testbin.WaitGone(t, pid)
			}
		})
	}
}
