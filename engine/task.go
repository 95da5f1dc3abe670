package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Sleep waits for d or until ctx is cancelled (ErrInterrupted).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		if ctx.Err() != nil {
			// Interrupted, as a longer sleep says: a Penalties slot that
			// is due at once (a coarse clock makes it so) once handed
			// back context.Canceled instead.
			return &OpError{Op: "sleep", Err: ErrInterrupted}
		}
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return &OpError{Op: "sleep", Err: ErrInterrupted}
	}
}

// A Chan carries values between tasks. It is Go's channel with a close
// that both sides may call and a receive that reports why it failed.
type Chan struct {
	c         chan any
	done      chan struct{}
	closeOnce sync.Once
}

// NewChan returns a channel holding up to size values unreceived (0: each
// Send waits for its Recv).
func NewChan(size int) *Chan {
	return &Chan{c: make(chan any, max(size, 0)), done: make(chan struct{})}
}

// Send delivers v, waiting for room. It fails with ErrClosed once the
// channel is closed and ErrInterrupted when ctx is cancelled.
func (ch *Chan) Send(ctx context.Context, v any) error {
	return ch.SendTimeout(ctx, v, -1)
}

// SendTimeout is Send waiting at most timeout for room: 0 does not wait at
// all, a negative timeout waits as long as it takes. When the time is up
// the value is not sent and the error wraps ErrTimeout.
func (ch *Chan) SendTimeout(ctx context.Context, v any, timeout time.Duration) error {
	select {
	case <-ch.done:
		return &OpError{Op: "send", Err: ErrClosed}
	default:
	}
	select {
	case ch.c <- v:
		return nil
	default:
	}
	var expire <-chan time.Time
	switch {
	case timeout == 0:
		return &OpError{Op: "send", Err: ErrTimeout}
	case timeout > 0:
		t := time.NewTimer(timeout)
		defer t.Stop()
		expire = t.C
	}
	select {
	case ch.c <- v:
		return nil
	case <-expire:
		return &OpError{Op: "send", Err: ErrTimeout}
	case <-ch.done:
		return &OpError{Op: "send", Err: ErrClosed}
	case <-ctx.Done():
		return &OpError{Op: "send", Err: ErrInterrupted}
	}
}

// Recv waits for a value, at most timeout when it is positive. Values sent
// before Close are still received; after them Recv fails with ErrClosed.
func (ch *Chan) Recv(ctx context.Context, timeout time.Duration) (any, error) {
	select {
	case v := <-ch.c:
		return v, nil
	default:
	}
	var expire <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expire = t.C
	}
	select {
	case v := <-ch.c:
		return v, nil
	case <-ch.done:
		select {
		case v := <-ch.c:
			return v, nil
		default:
			return nil, &OpError{Op: "recv", Err: ErrClosed}
		}
	case <-expire:
		return nil, &OpError{Op: "recv", Err: ErrTimeout}
	case <-ctx.Done():
		return nil, &OpError{Op: "recv", Err: ErrInterrupted}
	}
}

// Close closes the channel: senders fail, receivers drain what is left.
// Closing twice is harmless.
func (ch *Chan) Close() { ch.closeOnce.Do(func() { close(ch.done) }) }

// Len returns the number of values waiting.
func (ch *Chan) Len() int { return len(ch.c) }

// A Dict is a dictionary shared by all tasks, each of its operations
// atomic. Values are whatever the caller stores; Add and Incr work on
// float64 numbers.
type Dict struct {
	mu sync.Mutex
	m  map[string]any
}

// ErrNotNumber is returned by Incr when the stored value is not a number.
var ErrNotNumber = errors.New("not a number")

// NewDict returns an empty dictionary.
func NewDict() *Dict { return &Dict{m: make(map[string]any)} }

// Get returns the value under key and whether there is one.
func (d *Dict) Get(key string) (any, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.m[key]
	return v, ok
}

// Set stores v under key; a nil v deletes the key.
func (d *Dict) Set(key string, v any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if v == nil {
		delete(d.m, key)
		return
	}
	d.m[key] = v
}

// Add stores v under key only if the key is absent, and reports whether it
// did.
func (d *Dict) Add(key string, v any) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.m[key]; ok {
		return false
	}
	d.m[key] = v
	return true
}

// Incr adds delta to the number under key (an absent key counts as 0) and
// returns the new value.
func (d *Dict) Incr(key string, delta float64) (float64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var n float64
	if v, ok := d.m[key]; ok {
		f, isNum := v.(float64)
		if !isNum {
			return 0, fmt.Errorf("incr %q: %w", key, ErrNotNumber)
		}
		n = f
	}
	n += delta
	d.m[key] = n
	return n, nil
}

// Delete removes key and returns the value it had.
func (d *Dict) Delete(key string) any {
	d.mu.Lock()
	defer d.mu.Unlock()
	v := d.m[key]
	delete(d.m, key)
	return v
}

// Keys returns the keys, sorted.
func (d *Dict) Keys() []string {
	d.mu.Lock()
	keys := make([]string, 0, len(d.m))
	for k := range d.m {
		keys = append(keys, k)
	}
	d.mu.Unlock()
	sort.Strings(keys)
	return keys
}

// A Registry hands out one Dict, and one Penalties, per name.
type Registry struct {
	mu        sync.Mutex
	dicts     map[string]*Dict
	penalties map[string]*Penalties
}

// Dict returns the dictionary called name, making it on first use.
func (r *Registry) Dict(name string) *Dict {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dicts == nil {
		r.dicts = make(map[string]*Dict)
	}
	d, ok := r.dicts[name]
	if !ok {
		d = NewDict()
		r.dicts[name] = d
	}
	return d
}
