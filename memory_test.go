package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wirelab/wirelab/internal/testbin"
)

// A handler that exhausts memory, three ways, while other connections
// wait: each bomb ends its own handler with "not enough memory", and the
// server and every other connection, one of them holding a few MiB of its
// own, live on.
func TestMemoryBombLeavesServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds hundreds of MiB three times")
	}
	script := filepath.Join(t.TempDir(), "server.lua")
	os.WriteFile(script, []byte(`
local bombs = {
  table = function() local t = {} for i = 1, 2e9 do t[i] = i end end,
  coroutines = function() local t = {} for i = 1, 1e9 do t[i] = coroutine.create(function() end) end end,
  strings = function() local t = {} for i = 1, 1e9 do t[#t + 1] = string.rep("x", 4096) .. i end end,
}
local srv = socket.serve("127.0.0.1", 0, function(c)
  local keep = {}
  while true do
    local line = c:recvline()
    if not line then return end
    if line == "hold" then
      for i = 1, 100000 do keep[i] = {i} end -- a few MiB, held while it waits
      c:sendline("held " .. #keep)
    elseif bombs[line] then
      bombs[line]()
      c:sendline("survived?!")
    else
      c:sendline("pong " .. line .. " " .. #keep)
    end
  end
end)
print("ready " .. srv:port())
`), 0o644)
	var stderr testbin.Buffer
	cmd := exec.Command(binary, "run", "--max-memory", "192MiB", script)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	first, err := bufio.NewReader(stdout).ReadString('\n')
	port, ok := strings.CutPrefix(strings.TrimSpace(first), "ready ")
	if err != nil || !ok {
		t.Fatalf("server said %q (%v); stderr %s", first, err, stderr.String())
	}
	addr := "127.0.0.1:" + port
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}
	ask := func(c net.Conn, r *bufio.Reader, line string) (string, error) {
		fmt.Fprintf(c, "%s\n", line)
		return r.ReadString('\n')
	}
	holder, holderR := dial()
	if got, err := ask(holder, holderR, "hold"); got != "held 100000\n" {
		t.Fatalf("hold: %q %v", got, err)
	}
	idle, idleR := dial()
	for i, bomb := range []string{"table", "coroutines", "strings"} {
		c, r := dial()
		got, err := ask(c, r, bomb)
		if err == nil {
			t.Fatalf("bomb %s: the handler answered %q", bomb, got)
		}
		if got, err := ask(idle, idleR, "ping"+bomb); got != "pong ping"+bomb+" 0\n" {
			t.Fatalf("after the %s bomb, a waiting client got %q (%v); stderr %s", bomb, got, err, stderr.String())
		}
		if got, err := ask(holder, holderR, "ping"); got != "pong ping 100000\n" {
			t.Fatalf("after the %s bomb, the client holding 100,000 tables got %q (%v)", bomb, got, err)
		}
		fresh, freshR := dial()
		if got, err := ask(fresh, freshR, strconv.Itoa(i)); got != "pong "+strconv.Itoa(i)+" 0\n" {
			t.Fatalf("after the %s bomb, a new client got %q (%v)", bomb, got, err)
		}
		if n := strings.Count(stderr.String(), "not enough memory"); n != i+1 {
			t.Fatalf("after the %s bomb, %d reports of \"not enough memory\" in stderr:\n%s", bomb, n, stderr.String())
		}
	}
	if peak := peakRSS(t, cmd.Process.Pid); peak > 1<<30 {
		t.Errorf("the server's peak resident memory was %d MiB for a budget of 192 MiB", peak>>20)
	}
}

// peakRSS is a process's peak resident memory (VmHWM), 0 where unknown.
func peakRSS(t *testing.T, pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// The budget in the main script: pcall catches "not enough memory" as in
// Lua 5.1 and the script goes on; uncaught, it ends the run with status 1.
func TestMemoryBudgetMainScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds hundreds of MiB")
	}
	dir := t.TempDir()
	caught := filepath.Join(dir, "caught.lua")
	os.WriteFile(caught, []byte(`
print(pcall(function() local t = {} for i = 1, 2e9 do t[i] = i end end))
local t = {} for i = 1, 1000 do t[i] = i end
print("alive", #t)`), 0o644)
	out, err := exec.Command(binary, "run", "--max-memory", "128MiB", caught).CombinedOutput()
	if err != nil || string(out) != "false\tnot enough memory\nalive\t1000\n" {
		t.Fatalf("caught: %v\n%s", err, out)
	}
	uncaught := filepath.Join(dir, "uncaught.lua")
	os.WriteFile(uncaught, []byte("local t = {}\nfor i = 1, 2e9 do t[i] = i end\nprint('not reached')\n"), 0o644)
	start := time.Now()
	out, err = exec.Command(binary, "run", "--max-memory", "128MiB", uncaught).CombinedOutput()
	if exitCode(err) != 1 || !strings.Contains(string(out), "not enough memory") || strings.Contains(string(out), "not reached") {
		t.Fatalf("uncaught: exit %d after %v\n%s", exitCode(err), time.Since(start), out)
	}
	for _, bad := range []string{"lots", "-5M", "0", "12X"} {
		out, err := exec.Command(binary, "run", "--max-memory", bad, caught).CombinedOutput()
		if exitCode(err) != 2 || !strings.Contains(string(out), "is not a size: give bytes, or a number with K, M, G or T") {
			t.Errorf("--max-memory %s: exit %d\n%s", bad, exitCode(err), out)
		}
	}
}
