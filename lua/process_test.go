package lua

import (
	"os"
	"os/exec"
	"testing"
)

// TestSpawnPTYPython: exec.spawn(cmd, {pty = true}) lets a Python child
// that buffers its output by blocks on a pipe (PYTHONUNBUFFERED unset)
// answer each line through recvline while it keeps running.
func TestSpawnPTYPython(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed: the Python pty test is not run (testdata/process.lua drives sh and cat)")
	}
	t.Setenv("PYTHONUNBUFFERED", "")
	os.Unsetenv("PYTHONUNBUFFERED")
	rt, out, _ := newTestRuntime(t, Options{})
	err := rt.Run("pty_python", []byte(`
		local py = assert(exec.spawn({"python3", "-c", "while True: print(input()[::-1])"}, {pty = true}))
		for _, word in ipairs({"wirelab", "line by line", "pty"}) do
			py:sendline(word)
			assert(py:recvline({timeout = 30}) == word:reverse())
			assert(py:wait(0) == nil, "python ended")
		end
		py:close()
		print("ok")`))
	if err != nil || out.String() != "ok\n" {
		t.Fatalf("%v; stdout %q", err, out)
	}
}
