package raft

import (
	"fmt"
	"reflect"
	"unsafe"

	etcdraft "go.etcd.io/raft/v3"
)

// This file is the only place that reaches into etcd raft's unexported
// state, and it is written against one version of it:
const pinnedEtcdRaftVersion = "v3.7.0" // go.etcd.io/raft/v3, see go.mod

// TestEtcdRaftIsThePinnedVersion fails when go.mod moves to another version,
// and New fails, naming the field, when a field below is missing or has
// changed its type. Either means: re-read etcd raft's raft.go for how it
// draws and resets the election timeout, adjust this file, and re-check the
// message checks in validate.go, which were derived from the same version.
//
// Why: etcd raft draws each randomized election timeout from crypto/rand,
// which would make the engine the one part of a simulated run that a seed
// does not replay (engines are deterministic: docs/ARCHITECTURE.md). etcd raft
// redraws the timeout exactly when it restarts the election clock (reset()
// zeroes electionElapsed; so does hearing from the leader). So after every
// call into the RawNode that finds the clock at zero, the engine overwrites
// the timeout with one drawn from its own seeded source (Config.Rand), over
// the range etcd raft uses, [election, 2·election). That also redraws it
// each time a follower hears from its leader, which changes nothing but the
// draw.

// electionClock is etcd raft's election clock and randomized election
// timeout, raft.electionElapsed and raft.randomizedElectionTimeout inside
// the RawNode, writable.
type electionClock struct {
	elapsed, timeout reflect.Value
}

// etcdClock locates the election clock inside rn.
func etcdClock(rn *etcdraft.RawNode) (electionClock, error) {
	return locateClock(reflect.ValueOf(rn))
}

// locateClock finds the clock inside a pointer to a RawNode-shaped struct,
// and says which field is missing if it is not there. It takes a
// reflect.Value so that a test can show what it reports on a struct that
// lacks the fields.
func locateClock(rn reflect.Value) (electionClock, error) {
	missing := func(what string) error {
		return fmt.Errorf("raft: etcd raft has no %s: determinism.go reaches into go.etcd.io/raft/v3 %s internals; re-check it against the version in go.mod", what, pinnedEtcdRaftVersion)
	}
	if rn.Kind() != reflect.Pointer || rn.IsNil() || rn.Elem().Kind() != reflect.Struct {
		return electionClock{}, missing("RawNode struct")
	}
	r := rn.Elem().FieldByName("raft")
	if !r.IsValid() || r.Kind() != reflect.Pointer || r.IsNil() || r.Elem().Kind() != reflect.Struct {
		return electionClock{}, missing("field RawNode.raft (a pointer to the raft struct)")
	}
	field := func(name string) (reflect.Value, error) {
		f := r.Elem().FieldByName(name)
		if !f.IsValid() || f.Kind() != reflect.Int {
			return reflect.Value{}, missing("int field raft." + name)
		}
		return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem(), nil
	}
	var c electionClock
	var err error
	if c.elapsed, err = field("electionElapsed"); err != nil {
		return electionClock{}, err
	}
	if c.timeout, err = field("randomizedElectionTimeout"); err != nil {
		return electionClock{}, err
	}
	return c, nil
}

// pinElectionTimeout redraws the election timeout from the engine's seeded
// source whenever etcd raft's election clock stands at zero.
func (e *Engine) pinElectionTimeout() {
	if e.clock.elapsed.Int() == 0 {
		e.clock.timeout.SetInt(int64(e.cfg.ElectionTicks + e.rand.IntN(e.cfg.ElectionTicks)))
	}
}
