//go:build linux

package main

import (
	"net"
	"os"
	"strconv"
	"strings"
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
