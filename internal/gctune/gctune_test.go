package gctune

import (
	"os"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		floor, live uint64
		want        int
	}{
		{64 * mib, 0, maxPercent},
		{64 * mib, 2 * mib, maxPercent},   // 3200 % would be needed: capped
		{64 * mib, 16 * mib, 400},         // 16 MiB live: 64 MiB of headroom
		{64 * mib, 64 * mib, basePercent}, // GOGC's own proportion gives as much
		{64 * mib, 1 << 30, basePercent},  // and more: never below the default
	} {
		if got := Percent(c.floor, c.live); got != c.want {
			t.Errorf("Percent(%d MiB, %d MiB) = %d, want %d", c.floor/mib, c.live/mib, got, c.want)
		}
	}
}

// TestStartRaisesPercent starts the tuner in this process (a small live
// heap) and checks that collections leave GOGC raised above the default,
// then that a user's GOGC is left alone.
func TestStartRaisesPercent(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT is set: the tuner stays off, as it should")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	if !Start(64 << 20) {
		t.Fatal("Start refused with neither GOGC nor GOMEMLIMIT set")
	}
	// Put the default back: only the cleanup that runs after a
	// collection can raise it again.
	percent.Store(basePercent)
	debug.SetGCPercent(basePercent)
	var p int
	for range 1000 {
		runtime.GC()
		runtime.Gosched() // cleanups run on a goroutine of their own
		p = debug.SetGCPercent(-1)
		debug.SetGCPercent(p)
		if p > basePercent {
			break
		}
	}
	if p <= basePercent {
		t.Fatalf("GOGC is %d after collections with a small heap, want above %d", p, basePercent)
	}
	t.Setenv("GOGC", "50")
	if Start(64 << 20) {
		t.Error("Start tuned with GOGC set by the user")
	}
}
