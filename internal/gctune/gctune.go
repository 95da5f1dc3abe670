// Package gctune keeps a floor under the Go collector's headroom: the
// heap may grow at least a given number of bytes past what is live
// before the next collection starts.
//
// Go's collector starts a cycle when the heap reaches live + (live +
// stacks + globals) * GOGC/100. A wirelab server holds little live
// memory (a few MiB: its Lua states and buffers), so at the default
// GOGC=100 a stream of 16 KiB messages, each a fresh Lua string, starts
// a cycle every few milliseconds, and each cycle scans the same roots
// (the states' registries, a few MiB of globals) again: a third of a
// core went to marking at 16 KiB echoes. A floor of headroom makes the
// cycles as rare as a heap that size would make them, and gives way to
// GOGC's own proportion as soon as the live heap is large enough for it
// to give more. A cycle's cost is the same; there are far fewer.
//
// Start does nothing when the user set GOGC or GOMEMLIMIT: their setting
// is the one that holds.
package gctune

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// maxPercent caps the GOGC the floor may set: at most ten times the live
// heap and roots may accumulate, however small they are.
const maxPercent = 1000

// basePercent is Go's default GOGC, the least Start sets.
const basePercent = 100

var (
	started atomic.Bool
	floor   atomic.Uint64
	percent atomic.Int64 // the GOGC last set
	samples = []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/scan/globals:bytes"},
		{Name: "/gc/scan/stack:bytes"},
	}
)

// Start keeps at least bytes of headroom from now on, adjusting GOGC after
// every collection; calling it again changes the floor. It reports
// whether it tunes at all (false when GOGC or GOMEMLIMIT is set).
func Start(bytes uint64) bool {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return false
	}
	floor.Store(bytes)
	if started.Swap(true) {
		return true
	}
	percent.Store(basePercent)
	adjust()
	arm()
	return true
}

// Percent returns the GOGC that the floor needs for a live heap and roots
// of live bytes: enough that live * percent/100 is at least floor,
// between basePercent and maxPercent.
func Percent(floor, live uint64) int {
	if live == 0 {
		return maxPercent
	}
	p := floor * 100 / live
	return int(min(max(p, basePercent), maxPercent))
}

// A sentinel is garbage from birth: its cleanup runs after the
// collection that finds it, sets the percent for the next cycle and
// arms a new sentinel.
type sentinel struct{ _ [16]byte }

func arm() {
	s := new(sentinel)
	runtime.AddCleanup(s, func(struct{}) { adjust(); arm() }, struct{}{})
}

// adjust sets GOGC from the heap the last collection left.
func adjust() {
	metrics.Read(samples)
	var roots uint64
	for _, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			roots += s.Value.Uint64()
		}
	}
	p := Percent(floor.Load(), roots)
	// Setting GOGC takes the heap lock; skip changes under a tenth.
	last := int(percent.Load())
	if diff := p - last; diff*10 > last || -diff*10 > last {
		percent.Store(int64(p))
		debug.SetGCPercent(p)
	}
}
