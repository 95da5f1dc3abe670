package engine

import (
	"strconv"
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
