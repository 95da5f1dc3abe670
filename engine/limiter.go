package engine

import (
	"container/list"
	"context"
	"runtime"
	"sync"
)

// DefaultMaxRunning is how many commands a Limiter made with n <= 0 lets
// run at once: four per core. Commands mostly wait (on a network, a disk,
// a sleep), so a few per core keep the machine busy, while thousands at
// once would take its memory and make every one of them slow.
func DefaultMaxRunning() int { return 4 * runtime.NumCPU() }

// A Limiter lets at most Max holders run at once; the others wait in
// line and are let in first come, first served, as slots free. The exec
// servers and listen --exec run their commands through one, so that a
// flood of clients queues rather than starting a process each. It is safe
// for use by many goroutines.
type Limiter struct {
	max     int
	mu      sync.Mutex
	running int
	queue   list.List // of chan struct{}, closed when its waiter is let in
}

// NewLimiter returns a Limiter of n slots; n <= 0 means
// DefaultMaxRunning().
func NewLimiter(n int) *Limiter {
	if n <= 0 {
		n = DefaultMaxRunning()
	}
	return &Limiter{max: n}
}

// Max returns how many may run at once.
func (l *Limiter) Max() int { return l.max }

// Running returns how many hold a slot now.
func (l *Limiter) Running() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.running
}

// Waiting returns how many wait in line for a slot now.
func (l *Limiter) Waiting() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.queue.Len()
}

// Acquire waits for a slot, behind every caller that came before, and
// returns the function that gives it back (calling it again does
// nothing). When ctx ends first it leaves the line and returns an error
// wrapping ErrInterrupted; a caller already interrupted gets no slot even
// when one is free.
func (l *Limiter) Acquire(ctx context.Context) (release func(), err error) {
	if ctx.Err() != nil {
		return nil, &OpError{Op: "queue", Err: ErrInterrupted}
	}
	l.mu.Lock()
	if l.running < l.max && l.queue.Len() == 0 {
		l.running++
		l.mu.Unlock()
		return l.releaser(), nil
	}
	turn := make(chan struct{})
	place := l.queue.PushBack(turn)
	l.mu.Unlock()
	select {
	case <-turn:
		return l.releaser(), nil
	case <-ctx.Done():
	}
	l.mu.Lock()
	select {
	case <-turn:
		// Let in just as ctx ended: the slot was handed over, so it is
		// handed on rather than lost.
		l.mu.Unlock()
		l.releaser()()
	default:
		l.queue.Remove(place)
		l.mu.Unlock()
	}
	return nil, &OpError{Op: "queue", Err: ErrInterrupted}
}

// releaser returns the function that gives one slot back: to the first in
// line, who then holds it, or to the pool.
func (l *Limiter) releaser() func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if front := l.queue.Front(); front != nil {
				// The slot passes straight to the next in line: running
				// stays as it is, and nobody who came later can take it.
				close(l.queue.Remove(front).(chan struct{}))
				return
			}
			l.running--
		})
	}
}
