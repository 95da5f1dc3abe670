package lua

import (
	"encoding"
	"fmt"

	"github.com/wirelab/wirelab/engine"
)

// share is how the objects of a class pass to another task: as a task's
// function's upvalues and arguments, in channel messages and shared
// dictionaries, as a task's results.
type share int

const (
	// shareRefuse: the object cannot pass; the transfer fails with
	// "cannot pass a NAME to another task". The zero value, so that a
	// class nobody thought about stays in its task.
	shareRefuse share = iota
	// shareRef: the receiver gets the same Go object. For types whose
	// methods are safe from many goroutines at once.
	shareRef
	// shareCopy: the receiver gets a copy, made by the rule's copy
	// function, so the two tasks go on independently. For types that hold
	// state no two goroutines may change at once.
	shareCopy
)

// A shareRule is a class's policy, and its copy function for shareCopy.
type shareRule struct {
	share share
	copy  func(v any) (any, error)
}

// shareRules states, for every class (classes.go), how its objects pass
// between tasks: this table is the one place that decides, and
// transfer.go the one place that reads it. A class missing here is
// refused (and TestShareRules fails). Userdata of other libraries (an
// open file of io) are refused too.
var shareRules = map[string]shareRule{
	// Connections, listeners and UDP sockets: one task may send while
	// another receives, as on any Go net.Conn; close from anywhere.
	"conn":     {share: shareRef},
	"listener": {share: shareRef},
	"udp":      {share: shareRef},
	// A process (exec.spawn) is a connection to a program: any task may
	// talk to it; it dies with the task that spawned it.
	"process": {share: shareRef},
	// A server, a task: handles whose state is behind locks and channels.
	"server": {share: shareRef},
	"task":   {share: shareRef},
	// What tasks share on purpose: channels, dictionaries, penalty boxes.
	"channel":   {share: shareRef},
	"dict":      {share: shareRef},
	"penalties": {share: shareRef},
	// Read-only once made: a blob's bytes, an accounts file, json.null.
	"blob":      {share: shareRef},
	"accounts":  {share: shareRef},
	"json.null": {share: shareRef},
	// A running digest is not safe from two goroutines: the receiver goes
	// on from a copy of its state, as Python's h.copy().
	"hasher": {share: shareCopy, copy: copyHasher},
}

// shareRuleOf returns the policy for a Go object in a userdata, with its
// class name ("" for a userdata of another library).
func shareRuleOf(v any) (shareRule, string) {
	c := classOf(v)
	if c == nil {
		return shareRule{}, ""
	}
	return shareRules[c.name], c.name
}

// copyHasher copies a digest through its binary form, which md5, sha1
// and sha256 all have.
func copyHasher(v any) (any, error) {
	h := v.(*hasher)
	m, ok1 := h.h.(encoding.BinaryMarshaler)
	if !ok1 {
		return nil, fmt.Errorf("a %s hasher cannot be copied", h.algo)
	}
	state, err := m.MarshalBinary()
	if err != nil {
		return nil, err
	}
	fresh, err := engine.NewHash(h.algo)
	if err != nil {
		return nil, err
	}
	u, ok2 := fresh.(encoding.BinaryUnmarshaler)
	if !ok2 {
		return nil, fmt.Errorf("a %s hasher cannot be copied", h.algo)
	}
	if err := u.UnmarshalBinary(state); err != nil {
		return nil, err
	}
	return &hasher{algo: h.algo, h: fresh}, nil
}

// freezeObject freezes the Go object of a userdata by its class's rule.
func freezeObject(v any) (any, error) {
	rule, name := shareRuleOf(v)
	switch {
	case name == "":
		return nil, &TransferError{What: "a userdata of another library"}
	case rule.share == shareRef:
		return fRef{v: v}, nil
	case rule.share == shareCopy:
		snap, err := rule.copy(v)
		if err != nil {
			return nil, &TransferError{What: "a " + name + " (" + err.Error() + ")"}
		}
		return &fCopy{v: snap, copy: rule.copy}, nil
	}
	return nil, &TransferError{What: "a " + name}
}
