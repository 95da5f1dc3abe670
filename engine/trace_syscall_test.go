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

// TestTraceKeepsSendfile: a traced SendFile is still one sendfile, not a
// copy through writes, and its dump is one chunk of the whole file whose
// bytes are the file's.
func TestTraceKeepsSendfile(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 4<<20)
	for i := range data {
		data[i] = byte(i * 7 / 3)
	}
	path := dir + "/f.bin"
	os.WriteFile(path, data, 0o644)
	a, b := tcpPair(t)
	ctx := context.Background()
	send := func() int {
		got := make(chan []byte)
		go func() { p, _ := b.RecvExact(ctx, len(data)); got <- p }()
		before := writeCalls(t)
		if _, err := a.SendFile(ctx, path, FileOptions{Size: -1}); err != nil {
			t.Fatal(err)
		}
		calls := writeCalls(t) - before
		if p := <-got; string(p) != string(data) {
			t.Fatal("the file arrived changed")
		}
		return calls
	}
	plain := send()
	var out testbin.Buffer
	a.SetTracer(NewTracer(&out).WithFormat(TraceText))
	traced := send()
	if traced > plain+8 {
		t.Fatalf("SendFile of 4 MiB: %d write calls untraced, %d traced", plain, traced)
	}
	head := ">> sent 4194304 bytes to " + b.LocalAddr().String() + " at offset 4194304\n"
	i := strings.Index(out.String(), head)
	if i < 0 || strings.Count(out.String(), ">> sent") != 1 {
		t.Fatalf("want one dump of the whole file; trace begins\n%.400s", out.String())
	}
	if want := string(AppendText(nil, data)); !strings.Contains(out.String()[i+len(head):], want[:1000]) {
		t.Fatal("the dump does not show the file's bytes")
	}
}
