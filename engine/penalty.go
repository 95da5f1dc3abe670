package engine

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// Penalties slow down password guessing per source address, after
// OpenSSH's PerSourcePenalties. Every failure from a source adds Per to
// the source's penalty, which runs down in real time; while it is above
// Grace the source is blocked. A blocked source that keeps trying adds Per
// for every try too, so hammering only lengthens the block, up to Max.
// In the long run a source gets one failure per Per, after a first burst
// of Grace/Per; other sources are not affected.
//
// Two defences hold against a guesser with many addresses. Sources are
// grouped by netblock (sshd's PerSourceNetBlockSize): with 24:64 every
// address of a /24 (IPv4) or /64 (IPv6) counts as one source. And a
// ceiling holds across all sources: every failure also adds to one
// account shared by all, and once it is past its burst, Wait makes each
// check wait for a slot, at most one per CeilingPer, however many sources
// there are.
type Penalties struct {
	mu              sync.Mutex
	per, grace, max time.Duration
	until           map[string]time.Time
	now             func() time.Time // time.Now, but for tests
	// The ceiling: what a failure adds to the account of all sources,
	// the burst allowed, the account, and the next free slot.
	allPer, allGrace time.Duration
	allUntil, slot   time.Time
	v4bits, v6bits   int // the netblock sizes
}

// Default penalty settings: a burst of 30 failures, then one a second
// (2 guesses a second over the first 30 s, 1 after), and at most 10
// minutes of block.
const (
	DefaultPenaltyPer   = time.Second
	DefaultPenaltyGrace = 30 * time.Second
	DefaultPenaltyMax   = 10 * time.Minute
)

// maxPenalized bounds the sources remembered; past it, those whose penalty
// has run out are forgotten, and if that is not a tenth of them, a tenth
// of the rest at random (a flood of sources must not cost a scan each).
const maxPenalized = 100000

// The default ceiling across all sources: past a burst of 100 failures,
// 100 checks a second in all. The default netblocks are sshd's: every
// address on its own.
const (
	DefaultCeiling      = 100 // failures a second, and the burst
	DefaultNetblockIPv4 = 32
	DefaultNetblockIPv6 = 128
)

// NewPenalties returns Penalties with the default settings.
func NewPenalties() *Penalties {
	p := &Penalties{per: DefaultPenaltyPer, grace: DefaultPenaltyGrace, max: DefaultPenaltyMax,
		v4bits: DefaultNetblockIPv4, v6bits: DefaultNetblockIPv6}
	p.SetCeiling(DefaultCeiling)
	return p
}

// SetCeiling sets the ceiling across all sources: perSecond failures a
// second, after a burst of as many; 0 turns it off.
func (p *Penalties) SetCeiling(perSecond float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if perSecond <= 0 {
		p.allPer, p.allGrace = 0, 0
		return
	}
	p.allPer = time.Duration(float64(time.Second) / perSecond)
	p.allGrace = time.Second
}

// SetNetblock groups sources by netblock: v4 and v6 are the prefix
// lengths that make one source (32 and 128: each address on its own).
func (p *Penalties) SetNetblock(v4, v6 int) error {
	if v4 < 0 || v4 > 32 || v6 < 0 || v6 > 128 {
		return fmt.Errorf("netblock %d:%d: IPv4 bits 0-32 and IPv6 bits 0-128 expected", v4, v6)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.v4bits, p.v6bits = v4, v6
	return nil
}

// key is the source that address counts as: its netblock. What is not an
// IP address (a Unix socket's peer) is itself.
func (p *Penalties) key(address string) string {
	ip, err := netip.ParseAddr(address)
	if err != nil {
		return address
	}
	bits := p.v6bits
	if ip.Is4() || ip.Is4In6() {
		ip, bits = ip.Unmap(), p.v4bits
	}
	if pfx, err := ip.Prefix(bits); err == nil {
		return pfx.String()
	}
	return address
}

// Wait returns at once while the failures of all sources are within the
// ceiling's burst; past it, it waits for the next free slot, one per
// CeilingPer, so that checks go no faster than the ceiling however many
// sources make them. It returns ErrInterrupted when ctx ends first.
func (p *Penalties) Wait(ctx context.Context) error {
	p.mu.Lock()
	now := p.clock()
	if p.allPer == 0 || p.allUntil.Sub(now) <= p.allGrace {
		p.mu.Unlock()
		return nil
	}
	at := p.slot
	if at.Before(now) {
		at = now
	}
	p.slot = at.Add(p.allPer)
	p.mu.Unlock()
	return Sleep(ctx, at.Sub(now))
}

// Set changes the settings: what a failure adds, how much penalty is
// allowed before a source is blocked, and the longest block.
func (p *Penalties) Set(per, grace, max time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.per, p.grace, p.max = per, grace, max
}

func (p *Penalties) clock() time.Time {
	if p.now != nil {
		return p.now()
	}
	return time.Now()
}

// Blocked returns how long source stays blocked, 0 when it is not.
func (p *Penalties) Blocked(source string) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	left := p.until[p.key(source)].Sub(p.clock())
	if left <= p.grace {
		return 0
	}
	return left - p.grace
}

// Fail records a failure (or a try while blocked) from source.
func (p *Penalties) Fail(source string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock()
	if p.until == nil {
		p.until = map[string]time.Time{}
	}
	source = p.key(source)
	if p.allPer > 0 {
		// The account of all sources, capped where it stops mattering.
		p.allUntil = minTime(maxTime(p.allUntil, now).Add(p.allPer), now.Add(p.allGrace+p.max))
	}
	if _, ok := p.until[source]; !ok && len(p.until) >= maxPenalized {
		p.prune(now)
	}
	start := p.until[source]
	if start.Before(now) {
		start = now
	}
	p.until[source] = minTime(start.Add(p.per), now.Add(p.max+p.grace))
}

// Clear forgets source's penalty (after a success, say).
func (p *Penalties) Clear(source string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.until, p.key(source))
}

// prune makes room in the full table of sources.
func (p *Penalties) prune(now time.Time) {
	for s, t := range p.until {
		if !t.After(now) {
			delete(p.until, s)
		}
	}
	for s := range p.until {
		if len(p.until) < maxPenalized*9/10 {
			break
		}
		delete(p.until, s)
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Penalties returns the penalty box called name, shared by every task,
// making it with the default settings on first use.
func (r *Registry) Penalties(name string) *Penalties {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.penalties == nil {
		r.penalties = make(map[string]*Penalties)
	}
	p, ok := r.penalties[name]
	if !ok {
		p = NewPenalties()
		r.penalties[name] = p
	}
	return p
}
