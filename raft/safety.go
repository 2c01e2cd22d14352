package raft

import (
	"fmt"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/bftkit/bftkit/types"
)

func (e *Engine) encodeSafety() []byte {
	st := &types.RaftSafety{
		Term: e.hs.GetTerm(), Vote: e.hs.GetVote(), Commit: e.hs.GetCommit(),
		SnapshotIndex: e.snap.index, SnapshotTerm: e.snap.term, SnapshotHeight: e.snap.height, SnapshotBlockID: e.snap.block,
		Applied: e.applied,
	}
	for _, le := range e.log {
		st.Entries = append(st.Entries, &types.RaftEntry{Index: le.index, Term: le.term, BlockID: le.block, Height: le.height})
	}
	data, err := st.Marshal()
	if err != nil {
		panic(fmt.Sprintf("raft: encode safety state: %v", err)) // cannot fail
	}
	return data
}

func decodeSafety(data []byte) (*types.RaftSafety, error) {
	st := new(types.RaftSafety)
	if err := st.Unmarshal(data); err != nil {
		return nil, fmt.Errorf("raft: safety state: %w", err)
	}
	return st, nil
}

// restore rebuilds etcd raft's storage from the durable state: the
// snapshot point, the hard state, and the log with each entry's block from
// the store. A fresh node starts from an empty snapshot naming the voters.
func (e *Engine) restore(data []byte, block func(types.BlockID) *types.Block) error {
	if data == nil {
		return e.ms.ApplySnapshot(&raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{ConfState: e.confState(), Index: new(uint64(0)), Term: new(uint64(0))}})
	}
	st, err := decodeSafety(data)
	if err != nil {
		return err
	}
	e.snap = logEntry{index: st.SnapshotIndex, term: st.SnapshotTerm, block: st.SnapshotBlockID, height: st.SnapshotHeight}
	snap := &raftpb.Snapshot{Data: snapshotData(e.snap), Metadata: &raftpb.SnapshotMetadata{
		ConfState: e.confState(), Index: new(st.SnapshotIndex), Term: new(st.SnapshotTerm)}}
	if err := e.ms.ApplySnapshot(snap); err != nil {
		return fmt.Errorf("raft: restore snapshot: %w", err)
	}
	e.hs = &raftpb.HardState{Term: new(st.Term), Vote: new(st.Vote), Commit: new(st.Commit)}
	if err := e.ms.SetHardState(e.hs); err != nil {
		return fmt.Errorf("raft: restore hard state: %w", err)
	}
	ents := make([]*raftpb.Entry, 0, len(st.Entries))
	for _, re := range st.Entries {
		ent := &raftpb.Entry{Index: new(re.Index), Term: new(re.Term), Type: raftpb.EntryType_EntryNormal.Enum()}
		if !re.BlockID.IsZero() {
			b := block(re.BlockID)
			if b == nil {
				return fmt.Errorf("raft: log entry %d names block %v, which the store lost", re.Index, re.BlockID)
			}
			if ent.Data, err = b.Marshal(); err != nil {
				return fmt.Errorf("raft: restore entry %d: %w", re.Index, err)
			}
			e.blocks[re.BlockID] = b
		}
		ents = append(ents, ent)
		e.log = append(e.log, logEntry{index: re.Index, term: re.Term, block: re.BlockID, height: re.Height})
	}
	if err := e.ms.Append(ents); err != nil {
		return fmt.Errorf("raft: restore log: %w", err)
	}
	e.applied = st.Applied
	return nil
}
