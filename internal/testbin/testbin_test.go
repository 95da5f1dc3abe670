package testbin

import (
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestBuffer: writers on other goroutines, and what it returns is a copy.
func TestBuffer(t *testing.T) {
	var b Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			b.Write([]byte("ab"))
			b.WriteString("c")
		}
	}()
	WaitFor(t, 10*time.Second, "all the writes", func() bool { return b.Len() == 300 })
	<-done
	got := b.Bytes()
	b.WriteString("more")
	if string(got) != strings.Repeat("abc", 100) || b.String() != strings.Repeat("abc", 100)+"more" {
		t.Fatalf("bytes %q, string %q", got, b.String())
	}
	b.Reset()
	if b.Len() != 0 || b.String() != "" {
		t.Fatalf("after Reset: %q", b.String())
	}
}

// TestWaitFor: it returns once cond holds, checking it again after
// sleeping, and fails the test, saying what it waited for, when cond
// never holds. The failing case runs in a process of its own (this test
// binary again), since it must fail a test.
func TestWaitFor(t *testing.T) {
	if os.Getenv("TESTBIN_WAIT_NEVER") == "1" {
		WaitFor(t, 50*time.Millisecond, "the impossible", func() bool { return false })
		t.Fatal("WaitFor returned")
	}
	var calls atomic.Int32
	WaitFor(t, 10*time.Second, "the third look", func() bool { return calls.Add(1) == 3 })
	cmd := exec.Command(os.Args[0], "-test.run", "^TestWaitFor$", "-test.count=1")
	cmd.Env = append(os.Environ(), "TESTBIN_WAIT_NEVER=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "waited 50ms for the impossible") || strings.Contains(string(out), "WaitFor returned") {
		t.Fatalf("a condition that never holds: %v\n%s", err, out)
	}
}
