//go:build linux

package engine

import (
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/wirelab/wirelab/internal/testbin"
)

// writeCalls is the count of write system calls (write, writev, ...) this
// process has made, from /proc/self/io.
func writeCalls(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Skip("no /proc/self/io: write calls cannot be counted")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscw: "); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	t.Skip("no syscw in /proc/self/io")
	return 0
}

// TestTraceKeepsWritev: a send of several pieces is one writev, traced or
// not, and its dump is one, with the total count. (Traced, it was one
// write per piece: c:sendline("AB") left as two segments that the
// untraced program never sends.)
func TestTraceKeepsWritev(t *testing.T) {
	a, b := tcpPair(t)
	go io.Copy(io.Discard, b)
	ctx := context.Background()
	const rounds = 500
	send := func() int {
		before := writeCalls(t)
		for range rounds {
			if err := a.SendParts(ctx, []byte("AB"), []Part{Bytes("\n")}); err != nil {
				t.Fatal(err)
			}
		}
		return writeCalls(t) - before
	}
	plain := send()
	var out testbin.Buffer
	a.SetTracer(NewTracer(&out))
	traced := send()
	// The trace goes to memory: every write call counted is the socket's
	// (the runtime may add a few of its own).
	if traced > plain+rounds/10 {
		t.Fatalf("%d sends made %d write calls untraced and %d traced", rounds, plain, traced)
	}
	if got := strings.Count(out.String(), ">> sent 3 bytes"); got != rounds {
		t.Fatalf("%d dumps of the whole 3 bytes, want %d:\n%s", got, rounds, out.String()[:min(500, len(out.String()))])
	}
}
