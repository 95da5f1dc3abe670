package main

import (
	"bytes"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/wirelab/wirelab/internal/testbin"
)

// TestTakenPortFails runs a server on a port another program holds, as a
// learner does who starts a script again while the first run still lives:
// it must say which address is taken and exit 1, not end with status 0
// having served nothing.
func TestTakenPortFails(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	port := strconv.Itoa(held.Addr().(*net.TCPAddr).Port)
	want := "listen 127.0.0.1:" + port + ": address in use"
	cases := []struct {
		name string
		args []string
	}{
		{"serve", []string{"-e", `socket.serve("127.0.0.1", ` + port + `, function(c) end) print("not reached")`}},
		{"listen", []string{"-e", `socket.listen("127.0.0.1", ` + port + `) print("not reached")`}},
		{"bundled server", []string{"run", "exec_fixed_server", "--port", port}},
		{"sticky pair server", []string{"run", "exec_broken_server", "--port", port}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(binary, c.args...)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := cmd.ProcessState.ExitCode()
			if code != 1 || !strings.Contains(stderr.String(), want) || strings.Contains(stdout.String(), "not reached") {
				t.Fatalf("exit %d (%v), want 1 and %q\nstdout %q\nstderr %q", code, err, want, stdout.String(), stderr.String())
			}
		})
	}
	// A UDP port taken likewise.
	testbin.SkipWine(t, testbin.WineUDP)
	u, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	uport := strconv.Itoa(u.LocalAddr().(*net.UDPAddr).Port)
	out, err := exec.Command(binary, "run", "udp_echo_server", "--port", uport).CombinedOutput()
	if code := exitCode(err); code != 1 || !strings.Contains(string(out), "udp 127.0.0.1:"+uport+": address in use") {
		t.Fatalf("udp_echo_server on a taken port: exit %d, output %q", code, out)
	}
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
