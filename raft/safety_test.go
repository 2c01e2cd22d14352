package raft

import (
	"bytes"
	"slices"
	"testing"

	"github.com/bftkit/bftkit/types"
)

// TestSafetyStateRoundTrip checks that the safety state a node hands its
// driver decodes to the node's durable state (hard state, snapshot point,
// log, applied index), and that a node restored from it, with its stored
// blocks, encodes the very same bytes. The log is compacted along the way,
// so that the snapshot point is not empty.
func TestSafetyStateRoundTrip(t *testing.T) {
	c := newCluster(t, 3, 5, 40, func(cfg *Config) { cfg.RetainEntries = 4 })
	c.leader()
	for i, e := range c.engines {
		st := c.stored[i]
		got, err := decodeSafety(st.safety)
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		if got.Term != e.hs.GetTerm() || got.Vote != e.hs.GetVote() || got.Commit != e.hs.GetCommit() || got.Applied != e.applied {
			t.Fatalf("node %d: decoded term %d vote %d commit %d applied %d, engine has %d %d %d %d",
				i, got.Term, got.Vote, got.Commit, got.Applied, e.hs.GetTerm(), e.hs.GetVote(), e.hs.GetCommit(), e.applied)
		}
		snap := logEntry{index: got.SnapshotIndex, term: got.SnapshotTerm, block: got.SnapshotBlockID, height: got.SnapshotHeight}
		if snap != e.snap || snap.index == 0 {
			t.Fatalf("node %d: decoded snapshot point %+v, engine has %+v (want a compacted log)", i, snap, e.snap)
		}
		var log []logEntry
		for _, re := range got.Entries {
			log = append(log, logEntry{index: re.Index, term: re.Term, block: re.BlockID, height: re.Height})
		}
		if !slices.Equal(log, e.log) {
			t.Fatalf("node %d: decoded log %+v, engine has %+v", i, log, e.log)
		}

		restored, err := New(e.cfg, Restored{SafetyState: st.safety, Blocks: st.blocks, Committed: st.committed})
		if err != nil {
			t.Fatalf("node %d: restore: %v", i, err)
		}
		if again := restored.encodeSafety(); !bytes.Equal(again, st.safety) {
			t.Fatalf("node %d: the restored node encodes a different safety state", i)
		}
	}
}

// TestDecodeSafetyRefusesGarbage checks that a corrupt safety state is an
// error, from decodeSafety and from New, not a node built on it.
func TestDecodeSafetyRefusesGarbage(t *testing.T) {
	garbage := []byte{0xff, 0xff, 0xff}
	if _, err := decodeSafety(garbage); err == nil {
		t.Fatal("decodeSafety took garbage")
	}
	if _, err := New(testConfig(0, 3, 1), Restored{SafetyState: garbage, Blocks: map[types.BlockID]*types.Block{}}); err == nil {
		t.Fatal("New took a garbage safety state")
	}
}
