package lua

import (
	"context"
	"io"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"
)

// newTestState returns a main state of a fresh runtime, closed with the test.
func newTestState(tb testing.TB) *glua.LState {
	rt := NewRuntime(context.Background(), Options{Stdout: io.Discard, Stderr: io.Discard})
	tb.Cleanup(rt.Close)
	L := rt.NewState(rt.Context())
	tb.Cleanup(L.Close)
	return L
}

// TestCopyMillionNodeList copies a linked list of a million tables into a
// task: the copy walks a work list, so depth cannot exhaust the Go stack.
func TestCopyMillionNodeList(t *testing.T) {
	if testing.Short() {
		t.Skip("a million tables take seconds")
	}
	L := newTestState(t)
	err := L.DoString(`
		local list = nil
		for i = 1, 1000000 do list = {next = list, v = i} end
		local ok, n = task.spawn(function(l)
			local n = 0
			while l do n = n + 1; l = l.next end
			return n
		end, list):wait()
		assert(ok and n == 1000000, tostring(n))`)
	if err != nil {
		t.Fatal(err)
	}
}

// spawnTime returns the least time, over rounds, that spawning and waiting
// for a task that returns at once takes in L.
func spawnTime(tb testing.TB, L *glua.LState, rounds int) time.Duration {
	fn, err := L.LoadString(`local t = task.spawn(function() return 1 end); assert(t:wait())`)
	if err != nil {
		tb.Fatal(err)
	}
	best := time.Hour
	for i := 0; i < rounds; i++ {
		start := time.Now()
		L.Push(fn)
		if err := L.PCall(0, 0, nil); err != nil {
			tb.Fatal(err)
		}
		best = min(best, time.Since(start))
	}
	return best
}

// TestSpawnIgnoresUnusedGlobals: a million-entry global that the task never
// names is not copied, so a spawn stays under a millisecond.
func TestSpawnIgnoresUnusedGlobals(t *testing.T) {
	L := newTestState(t)
	if err := L.DoString(`big = {} for i = 1, 1000000 do big[i] = i end`); err != nil {
		t.Fatal(err)
	}
	if d := spawnTime(t, L, 30); d > time.Millisecond {
		t.Fatalf("a spawn took %v at best with a big global around", d)
	}
}

// BenchmarkSpawn times task.spawn plus t:wait() with a million-entry
// global the task never names, against the same with no such global:
// with/without is the ratio of the times (1.0: the global costs nothing).
func BenchmarkSpawn(b *testing.B) {
	plain := newTestState(b)
	big := newTestState(b)
	if err := big.DoString(`big = {} for i = 1, 1000000 do big[i] = i end`); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var with, without time.Duration
	for i := 0; i < b.N; i++ {
		without += spawnTime(b, plain, 1)
		with += spawnTime(b, big, 1)
	}
	b.ReportMetric(float64(without.Microseconds())/float64(b.N), "plain-µs/spawn")
	b.ReportMetric(float64(with.Microseconds())/float64(b.N), "bigglobal-µs/spawn")
	b.ReportMetric(with.Seconds()/without.Seconds(), "with/without")
}
