// Package drivertest has engine decorators for testing what a driver does
// with an engine, the same way in the simulator and in a node.
package drivertest

import (
	"fmt"

	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/types"
)

// HaltAfter wraps every engine of desc so that it halts, with a reason,
// once it has committed height h. It stands in for a real halt, which
// needs more than f Byzantine validators (a decided block conflicting
// with the committed chain), to test that a driver surfaces one.
func HaltAfter(desc protocol.Descriptor, h uint64) protocol.Descriptor {
	inner := desc.New
	desc.New = func(env protocol.Env) (protocol.Engine, error) {
		e, err := inner(env)
		if err != nil {
			return nil, err
		}
		return &halting{Engine: e, at: h}, nil
	}
	return desc
}

type halting struct {
	protocol.Engine
	at, committed uint64
}

// Advance notes the committed height.
func (e *halting) Advance(rd types.Ready) {
	if k := len(rd.Committed); k > 0 {
		e.committed = rd.Committed[k-1].Block.Height
	}
	e.Engine.Advance(rd)
}

// Halted reports the halt once height at is committed.
func (e *halting) Halted() error {
	if e.committed >= e.at {
		return fmt.Errorf("drivertest: halted after committing height %d", e.committed)
	}
	return e.Engine.Halted()
}
