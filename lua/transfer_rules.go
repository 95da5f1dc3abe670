package lua

import (
	"github.com/wirelab/wirelab/engine"
)

// passing is how the objects of a class pass to another task: as a task's
// function's upvalues and arguments, in channel messages and shared
// dictionaries, as a task's results. Each class states its own where it
// is declared (classes.go); transfer.go is the one place that reads it,
// through freezeObject below. Userdata of other libraries (an open file
// of io) are refused.
type passing int

const (
	// passRefuse: the object cannot pass; the transfer fails with
	// "cannot pass a NAME to another task". The zero value, so that a
	// class nobody thought about stays in its task.
	passRefuse passing = iota
	// passRef: the receiver gets the same Go object. For types whose
	// methods are safe from many goroutines at once.
	passRef
	// passCopy: the receiver gets a copy, made by the rule's copy
	// function, so the two tasks go on independently. For types that hold
	// state no two goroutines may change at once.
	passCopy
)

// copyHasher copies a digest in its current state (engine.CloneHash).
func copyHasher(v any) (any, error) {
	h := v.(*hasher)
	fresh, err := engine.CloneHash(h.algo, h.h)
	if err != nil {
		return nil, err
	}
	return &hasher{algo: h.algo, h: fresh}, nil
}

// freezeObject freezes the Go object of a userdata by its class's rule.
func freezeObject(v any) (any, error) {
	c := classOf(v)
	switch {
	case c == nil:
		return nil, &TransferError{What: "a userdata of another library"}
	case c.pass == passRef:
		return fRef{v: v}, nil
	case c.pass == passCopy:
		snap, err := c.copy(v)
		if err != nil {
			return nil, &TransferError{What: "a " + c.name + " (" + err.Error() + ")"}
		}
		return &fCopy{v: snap, copy: c.copy}, nil
	}
	return nil, &TransferError{What: "a " + c.name}
}
