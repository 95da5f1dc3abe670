//go:build linux

package main

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wirelab/wirelab/internal/testbin"
	"golang.org/x/sys/unix"
)

// cpuTime is the user and system CPU time process pid has used.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64) // fields 14 and 15 of stat(5)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// TestListenKeepOpenOutOfDescriptors: with its descriptors used up, listen
// --keep-open says so a few times instead of spinning on accept (it wrote
// 329,218 lines in 2.5 s), and serves new clients once descriptors free.
func TestListenKeepOpenOutOfDescriptors(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc: CPU time cannot be read")
	}
	p, addr := startListen(t, nil, "0", "--keep-open")
	lim := unix.Rlimit{Cur: 24, Max: 24}
	if err := unix.Prlimit(p.cmd.Process.Pid, unix.RLIMIT_NOFILE, &lim, nil); err != nil {
		t.Skipf("prlimit: %v", err)
	}
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range 40 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	testbin.WaitFor(t, 20*time.Second, "listen to say it is out of descriptors", func() bool {
		return strings.Contains(p.errs.String(), "too many open files")
	})
	// Judge by CPU time and a count of lines, not wall-clock margins:
	// a spinning loop burns a core and writes a line a try.
	cpu0, start := cpuTime(t, p.cmd.Process.Pid), time.Now()
	lines0 := strings.Count(p.errs.String(), "\n")
	time.Sleep(time.Second)
	cpu := cpuTime(t, p.cmd.Process.Pid) - cpu0
	lines := strings.Count(p.errs.String(), "\n") - lines0
	window := time.Since(start)
	if cpu > window/3 || lines > int(window/(5*time.Second))+2 {
		t.Fatalf("out of descriptors for %v: %v of CPU and %d lines of stderr:\n%s", window, cpu, lines, p.errs.String())
	}
	for _, c := range held {
		c.Close()
	}
	held = nil
	var c net.Conn
	testbin.WaitFor(t, 20*time.Second, "a connection after descriptors freed", func() bool {
		var err error
		if c, err = net.Dial("tcp", addr); err != nil {
			return false
		}
		c.Write([]byte("after\n"))
		return true
	})
	defer c.Close()
	testbin.WaitFor(t, 20*time.Second, "the new client's line on stdout", func() bool {
		return strings.Contains(p.stdout.String(), "after\n")
	})
}

// groupsAlive counts the processes, zombies left out, whose process group
// is one of pgids.
func groupsAlive(t *testing.T, pgids map[string]bool) int {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc")
	}
	n := 0
	for _, d := range dirs {
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue // not a process, or gone meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		if len(f) > 2 && f[0] != "Z" && pgids[f[2]] {
			n++
		}
	}
	return n
}

// readLines returns the lines of a file that commands append to, none
// while it does not exist.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

// TestListenExecEndsWithClient: 50 clients of listen --keep-open --exec
// connect, each starting two processes that never end, and leave; every
// process goes with its client. (They all stayed until wirelab ended.)
func TestListenExecEndsWithClient(t *testing.T) {
	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	const clients = 50
	_, addr := startListen(t, nil, "0", "--keep-open", "--max-running", "60",
		"--exec", "echo $$ >> "+pids+"; sleep 1000 & sleep 1000")
	conns := make([]net.Conn, clients)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	testbin.WaitFor(t, 30*time.Second, "every client's command to start", func() bool {
		return len(readLines(t, pids)) == clients
	})
	groups := map[string]bool{}
	for _, pid := range readLines(t, pids) {
		groups[pid] = true
		// Should they outlive the test, they would hold listen's stderr
		// and its cleanup would wait on them.
		pgid, _ := strconv.Atoi(pid)
		t.Cleanup(func() { syscall.Kill(-pgid, syscall.SIGKILL) })
	}
	testbin.WaitFor(t, 30*time.Second, "both processes of every command", func() bool {
		return groupsAlive(t, groups) >= 2*clients
	})
	t.Logf("%d clients: %d processes", clients, groupsAlive(t, groups))
	for _, c := range conns {
		c.Close()
	}
	left := time.Now()
	testbin.WaitFor(t, 30*time.Second, "no process left of the clients' commands", func() bool {
		return groupsAlive(t, groups) == 0
	})
	t.Logf("every process gone %v after the clients left (grace %v)", time.Since(left), execGrace)
}

// TestListenExecOutputInFlight: once the client has sent all it will
// (half-close), a command that keeps writing runs on past the grace; only
// one that has gone quiet for execGrace is ended.
func TestListenExecOutputInFlight(t *testing.T) {
	_, addr := startListen(t, nil, "0", "--exec", "for i in 1 2 3 4 5 6; do echo $i; sleep 0.5; done; echo end")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).CloseWrite()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "1\n2\n3\n4\n5\n6\nend\n" {
		t.Fatalf("%q %v", got, err)
	}
}

// TestListenExecMaxRunning: under a flood, listen --exec runs at most
// --max-running commands at once, as the commands see it, and answers
// every client; with every slot held, a fresh client waits for the first
// to free, and for no more.
func TestListenExecMaxRunning(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	const limit, clients = 3, 15
	// Each command reads its name, then holds its slot for 0.2 s and
	// until the file go.NAME exists.
	cmd := "read i; echo s >> " + log + "; sleep 0.2; until [ -e " + dir + "/go.$i ]; do sleep 0.02; done; echo e >> " + log + "; echo done $i"
	_, addr := startListen(t, nil, "0", "--keep-open", "--max-running", strconv.Itoa(limit), "--exec", cmd)
	t.Cleanup(func() { // let every command go, should the test fail
		for _, name := range []string{"held0", "held1", "held2", "fresh"} {
			os.WriteFile(filepath.Join(dir, "go."+name), nil, 0o600)
		}
	})
	ask := func(name string) net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.Write([]byte(name + "\n")) // sent ahead, whenever the command runs
		c.SetDeadline(time.Now().Add(60 * time.Second))
		return c
	}
	answer := func(c net.Conn, name string) {
		t.Helper()
		if got, err := io.ReadAll(c); err != nil || string(got) != "done "+name+"\n" {
			t.Errorf("%s: %q %v", name, got, err)
		}
	}
	// The flood: every command may go at once; the cap alone holds them.
	for i := range clients {
		os.WriteFile(filepath.Join(dir, "go.flood"+strconv.Itoa(i)), nil, 0o600)
	}
	var flood []net.Conn
	for i := range clients {
		flood = append(flood, ask("flood"+strconv.Itoa(i)))
	}
	for i, c := range flood {
		answer(c, "flood"+strconv.Itoa(i))
	}
	running, peak := 0, 0
	for _, l := range readLines(t, log) {
		if l == "s" {
			running++
		} else {
			running--
		}
		peak = max(peak, running)
	}
	t.Logf("%d clients, --max-running %d: at most %d commands at once", clients, limit, peak)
	if peak > limit || len(readLines(t, log)) != 2*clients {
		t.Fatalf("%d commands at once (--max-running %d); log %q", peak, limit, readLines(t, log))
	}
	// Every slot held, then a fresh client.
	os.Remove(log)
	var held []net.Conn
	for i := range limit {
		held = append(held, ask("held"+strconv.Itoa(i)))
		testbin.WaitFor(t, 20*time.Second, "the held command to start", func() bool {
			return len(readLines(t, log)) == i+1
		})
	}
	os.WriteFile(filepath.Join(dir, "go.fresh"), nil, 0o600)
	fresh := ask("fresh")
	// Answered now, it would have run beside the held ones: look a while.
	fresh.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := fresh.Read(make([]byte, 1)); n > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a fresh client answered with %d commands running and --max-running %d: %d bytes, %v", limit, limit, n, err)
	}
	fresh.SetReadDeadline(time.Now().Add(60 * time.Second))
	os.WriteFile(filepath.Join(dir, "go.held0"), nil, 0o600)
	answer(held[0], "held0")
	answer(fresh, "fresh")
	if l := strings.Join(readLines(t, log), ""); l != "sssese" {
		// three held start, held0 ends, fresh starts and ends: one slot
		// freed, and the fresh client took it
		t.Fatalf("log %q", l)
	}
	for i := 1; i < limit; i++ {
		os.WriteFile(filepath.Join(dir, "go.held"+strconv.Itoa(i)), nil, 0o600)
		answer(held[i], "held"+strconv.Itoa(i))
	}
}
