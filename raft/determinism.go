package raft

import (
	"errors"
	"fmt"
	"reflect"
	"unsafe"
)

// etcd raft draws each randomized election timeout from crypto/rand, which
// would make the engine the one part of a simulated run that a seed does not
// replay (DESIGN.md §1: engines are deterministic). etcd raft redraws the
// timeout exactly when it restarts the election clock (reset() zeroes
// electionElapsed; so does hearing from the leader). So after every call
// into the RawNode that finds the clock at zero, the engine overwrites the
// timeout with one drawn from its own seeded source, over the range etcd
// raft uses, [election, 2·election). That also redraws it each time a
// follower hears from its leader, which changes nothing but the draw.
//
// This reaches into unexported fields of etcd raft's pinned version
// (v3.7.0, see go.mod); New fails loudly if they are not there, and a test
// replays seeds to catch any drift.

// raftFields locates raft.electionElapsed and
// raft.randomizedElectionTimeout inside the RawNode.
func (e *Engine) raftFields() (elapsed, timeout reflect.Value, err error) {
	rn := reflect.ValueOf(e.rn).Elem()
	r := rn.FieldByName("raft")
	if !r.IsValid() || r.Kind() != reflect.Pointer || r.IsNil() {
		return elapsed, timeout, errors.New("raft: etcd raft's RawNode has no raft field (is go.etcd.io/raft/v3 at v3.7.0?)")
	}
	field := func(name string) (reflect.Value, error) {
		f := r.Elem().FieldByName(name)
		if !f.IsValid() || f.Kind() != reflect.Int {
			return reflect.Value{}, fmt.Errorf("raft: etcd raft has no int field %s (is go.etcd.io/raft/v3 at v3.7.0?)", name)
		}
		return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem(), nil
	}
	if elapsed, err = field("electionElapsed"); err != nil {
		return elapsed, timeout, err
	}
	timeout, err = field("randomizedElectionTimeout")
	return elapsed, timeout, err
}

// pinElectionTimeout redraws the election timeout from the engine's source
// whenever etcd raft's election clock stands at zero.
func (e *Engine) pinElectionTimeout() {
	if e.elapsed.Int() == 0 {
		e.timeout.SetInt(int64(e.cfg.ElectionTicks + e.rand.IntN(e.cfg.ElectionTicks)))
	}
}
