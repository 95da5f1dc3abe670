package main

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSpawnedProcessesDieWithTheScript: a script that spawns programs and
// ends without closing them leaves no process behind, neither the program
// nor the children it started in the background; nor does one that fails
// or is interrupted.
func TestSpawnedProcessesDieWithTheScript(t *testing.T) {
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
				waitGone(t, pid)
			}
		})
	}
}

// waitGone waits until pid has exited (a zombie counts), at most 5 s.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		st, _ := exec.Command("ps", "-o", "stat=", "-p", strconv.Itoa(pid)).Output()
		if s := strings.TrimSpace(string(st)); s == "" || strings.HasPrefix(s, "Z") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d outlived the script", pid)
}
