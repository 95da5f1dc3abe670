package engine

import (
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
type Penalties struct {
	mu              sync.Mutex
	per, grace, max time.Duration
	until           map[string]time.Time
	now             func() time.Time // time.Now, but for tests
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

// NewPenalties returns Penalties with the default settings.
func NewPenalties() *Penalties {
	return &Penalties{per: DefaultPenaltyPer, grace: DefaultPenaltyGrace, max: DefaultPenaltyMax}
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
	left := p.until[source].Sub(p.clock())
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
	delete(p.until, source)
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
