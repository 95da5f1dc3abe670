package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestPenaltiesRate drives one source at 100 failures a second for 30
// simulated seconds, stopping whenever it is blocked as a client would be
// refused: it gets the burst, then one failure a second. Another source is
// never blocked, and a blocked source that keeps knocking stays blocked.
func TestPenaltiesRate(t *testing.T) {
	now := time.Unix(1e9, 0)
	p := NewPenalties()
	p.now = func() time.Time { return now }
	checked := 0
	for step := 0; step < 3000; step++ {
		now = now.Add(10 * time.Millisecond)
		if p.Blocked("10.0.0.1") > 0 {
			continue // refused without a check, and not counted against it
		}
		checked++
		p.Fail("10.0.0.1")
	}
	if rate := float64(checked) / 30; rate > 10 || checked < 30 {
		t.Fatalf("%d guesses checked in 30 s (%.1f/s)", checked, rate)
	}
	t.Logf("a source trying 100 times a second: %d guesses checked in 30 s (%.1f/s)", checked, float64(checked)/30)
	if p.Blocked("10.0.0.2") != 0 {
		t.Fatal("another source is blocked")
	}
	// knocking while blocked lengthens the block
	for i := 0; i < 100; i++ {
		p.Fail("10.0.0.1")
	}
	if d := p.Blocked("10.0.0.1"); d < 90*time.Second {
		t.Fatalf("blocked for %v after 100 tries while blocked", d)
	}
	for i := 0; i < 2000; i++ {
		p.Fail("10.0.0.1")
	}
	if d := p.Blocked("10.0.0.1"); d > DefaultPenaltyMax {
		t.Fatalf("blocked for %v, over the maximum", d)
	}
	// the penalty runs down
	now = now.Add(DefaultPenaltyMax + time.Second)
	if d := p.Blocked("10.0.0.1"); d != 0 {
		t.Fatalf("still blocked for %v", d)
	}
	p.Fail("10.0.0.1")
	if p.Blocked("10.0.0.1") != 0 {
		t.Fatal("one failure after the penalty ran out blocks")
	}
}

// TestPenaltiesBounded: a flood of sources does not grow memory without
// bound.
func TestPenaltiesBounded(t *testing.T) {
	p := NewPenalties()
	for i := 0; i < maxPenalized+1000; i++ {
		p.Fail(strconv.Itoa(i))
	}
	if n := len(p.until); n > maxPenalized {
		t.Fatalf("%d sources remembered", n)
	}
}

// TestPenaltiesNetblock: with 24:64, every address of a /24 or /64 is one
// source; with the default, each address is its own.
func TestPenaltiesNetblock(t *testing.T) {
	p := NewPenalties()
	p.Set(time.Second, 2*time.Second, time.Minute)
	for i := range 5 {
		p.Fail(fmt.Sprintf("127.0.0.%d", i+1))
	}
	if p.Blocked("127.0.0.1") != 0 || p.Blocked("127.0.0.9") != 0 {
		t.Fatal("by default one failure per address blocks nobody")
	}
	if err := p.SetNetblock(24, 64); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		p.Fail(fmt.Sprintf("10.1.2.%d", i+1))
		p.Fail(fmt.Sprintf("2001:db8:0:1::%x", i+1))
	}
	for _, a := range []string{"10.1.2.200", "::ffff:10.1.2.7", "2001:db8:0:1::ffff"} {
		if p.Blocked(a) == 0 {
			t.Errorf("%s: its netblock failed 5 times, it is not blocked", a)
		}
	}
	for _, a := range []string{"10.1.3.1", "2001:db8:0:2::1", "unix"} {
		if p.Blocked(a) != 0 {
			t.Errorf("%s is blocked for another netblock's failures", a)
		}
	}
	p.Clear("10.1.2.99")
	if p.Blocked("10.1.2.1") != 0 {
		t.Error("clearing an address of the netblock clears the netblock")
	}
	if p.SetNetblock(33, 64) == nil || p.SetNetblock(24, 129) == nil {
		t.Error("out-of-range netblocks are accepted")
	}
}

// TestPenaltiesCeiling: past the burst, checks from any number of
// sources wait for slots one CeilingPer apart. The elapsed time is a
// lower bound, which a loaded machine can only lengthen.
func TestPenaltiesCeiling(t *testing.T) {
	p := NewPenalties()
	p.SetCeiling(200) // a slot each 5 ms, after a burst of 200 failures
	ctx := context.Background()
	start := time.Now()
	for i := range 200 {
		if err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		p.Fail(fmt.Sprintf("127.%d.%d.1", i/250, i%250)) // a new source each time
	}
	if d := time.Since(start); d > time.Second {
		t.Logf("the burst took %v: the machine is slow, the ceiling may have begun within it", d)
	}
	// Well past the burst (1 s more of failures), so that however slow
	// the loop above was, the ceiling holds for what follows.
	for range 200 {
		p.Fail("127.250.0.1")
	}
	// The burst is spent: the next 40 checks, from 40 more sources at
	// once, take at least 39 slots.
	start = time.Now()
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Wait(ctx)
			p.Fail(fmt.Sprintf("127.200.%d.1", i))
		}()
	}
	wg.Wait()
	if d := time.Since(start); d < 39*5*time.Millisecond {
		t.Fatalf("40 checks past the ceiling took %v, want at least %v", d, 39*5*time.Millisecond)
	}
	// A cancelled wait says so.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	for range 5 {
		p.Fail("127.1.1.1")
	}
	if err := p.Wait(cctx); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("a cancelled wait: %v", err)
	}
	p.SetCeiling(0)
	if err := p.Wait(cctx); err != nil {
		t.Fatalf("no ceiling, yet Wait: %v", err)
	}
}

// TestSleepZeroInterrupted: a sleep of nothing under a cancelled context
// says interrupted, as a longer one does, not context.Canceled.
func TestSleepZeroInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, d := range []time.Duration{0, -time.Second, time.Hour} {
		if err := Sleep(ctx, d); !errors.Is(err, ErrInterrupted) {
			t.Errorf("Sleep(cancelled, %v) = %v, want ErrInterrupted", d, err)
		}
	}
	if err := Sleep(context.Background(), 0); err != nil {
		t.Errorf("Sleep(0) = %v", err)
	}
}
