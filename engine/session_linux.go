package engine

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// killSession kills every process of session sid but those in group
// skip, which the caller has killed. A pty process leads a session, and a
// job-control shell in it puts each job in a group of its own, which
// killing the leader's group would not reach. Processes are found in
// /proc, as ps finds them.
func killSession(sid int) {
	d, err := os.Open("/proc")
	if err != nil {
		return
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + name + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp session ...: comm may hold anything
		// but ends at the last ")".
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(stat[i+1:])
		if len(f) < 4 {
			continue
		}
		if s, err := strconv.Atoi(string(f[3])); err == nil && s == sid {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
