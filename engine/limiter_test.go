package engine

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wirelab/wirelab/internal/testbin"
)

// letIn is a waiter let in: its index and its release function.
type letIn struct {
	i       int
	release func()
}

// queueUp starts a goroutine that waits in l's line and sends its index
// and release function on got once it is let in, and waits until it is
// in the line, so that the waiters queue in the order of their indexes.
func queueUp(t *testing.T, l *Limiter, ctx context.Context, i int, got chan<- letIn) {
	t.Helper()
	before := l.Waiting()
	go func() {
		release, _ := l.Acquire(ctx)
		got <- letIn{i, release}
	}()
	testbin.WaitFor(t, 10*time.Second, "a waiter in line", func() bool { return l.Waiting() == before+1 })
}

// TestLimiterFirstComeFirstServed: two slots, five waiters queued in
// turn; each slot given back goes to the first in line, and no more than
// two ever hold one.
func TestLimiterFirstComeFirstServed(t *testing.T) {
	l := NewLimiter(2)
	r1, err1 := l.Acquire(context.Background())
	r2, err2 := l.Acquire(context.Background())
	if err1 != nil || err2 != nil || l.Running() != 2 {
		t.Fatalf("the first two: %v %v, running %d", err1, err2, l.Running())
	}
	got := make(chan letIn, 5)
	for i := range 5 {
		queueUp(t, l, context.Background(), i, got)
	}
	held := []func(){r1, r2}
	for want := range 5 {
		held[0]()
		held[0]() // twice: gives back one slot, not two
		held = held[1:]
		g := <-got
		if g.i != want {
			t.Fatalf("let in waiter %d, want %d (first come, first served)", g.i, want)
		}
		if n := l.Running(); n != 2 {
			t.Fatalf("%d running, want 2", n)
		}
		held = append(held, g.release)
	}
	for _, r := range held {
		r()
	}
	if l.Running() != 0 || l.Waiting() != 0 {
		t.Fatalf("after all: %d running, %d waiting", l.Running(), l.Waiting())
	}
}

// TestLimiterInterrupted: a waiter whose context ends leaves the line
// with ErrInterrupted and the next one gets the slot; a slot handed to a
// waiter just as it gave up is passed on, never lost.
func TestLimiterInterrupted(t *testing.T) {
	l := NewLimiter(1)
	release, _ := l.Acquire(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := l.Acquire(ctx)
		done <- err
	}()
	testbin.WaitFor(t, 10*time.Second, "a waiter in line", func() bool { return l.Waiting() == 1 })
	got := make(chan letIn, 1)
	queueUp(t, l, context.Background(), 1, got)
	cancel()
	if err := <-done; !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted waiter: %v", err)
	}
	release()
	g := <-got
	g.release()
	if l.Running() != 0 || l.Waiting() != 0 {
		t.Fatalf("%d running, %d waiting", l.Running(), l.Waiting())
	}
	if _, err := l.Acquire(ctx); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("acquire on an ended context: %v", err)
	}
	// Race the hand-over against the cancellation, many times.
	for range 500 {
		release, _ := l.Acquire(context.Background())
		ctx, cancel := context.WithCancel(context.Background())
		res := make(chan func(), 1)
		go func() {
			r, _ := l.Acquire(ctx)
			res <- r
		}()
		for l.Waiting() != 1 { // WaitFor's 10 ms a look, 500 times, is long
			runtime.Gosched()
		}
		cancel()
		release() // often before the waiter wakes: it sees both

		if r := <-res; r != nil {
			r()
		}
		if l.Running() != 0 || l.Waiting() != 0 {
			t.Fatalf("a slot lost: %d running, %d waiting", l.Running(), l.Waiting())
		}
	}
}

// TestRunWaitsForSlot: Run with Slots waits in line and starts nothing
// until a slot frees; cancelled while waiting, it returns ErrInterrupted.
func TestRunWaitsForSlot(t *testing.T) {
	l := NewLimiter(1)
	release, _ := l.Acquire(context.Background())
	type result struct {
		res *Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := Run(context.Background(), Command{Shell: "echo hi", Slots: l})
		done <- result{res, err}
	}()
	testbin.WaitFor(t, 10*time.Second, "Run in line", func() bool { return l.Waiting() == 1 })
	release()
	r := <-done
	if r.err != nil || strings.TrimRight(string(r.res.Stdout), "\r\n") != "hi" || l.Running() != 0 {
		t.Fatalf("%v %+v, %d running", r.err, r.res, l.Running())
	}
	release, _ = l.Acquire(context.Background())
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		res, err := Run(ctx, Command{Shell: "echo hi", Slots: l})
		done <- result{res, err}
	}()
	testbin.WaitFor(t, 10*time.Second, "Run in line", func() bool { return l.Waiting() == 1 })
	cancel()
	if r := <-done; !errors.Is(r.err, ErrInterrupted) || r.res != nil {
		t.Fatalf("cancelled in line: %v %+v", r.err, r.res)
	}
}
