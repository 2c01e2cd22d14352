package raft

import (
	"bytes"
	"fmt"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/bftkit/bftkit/types"
)

// This file keeps the mirror of the raft log that is persisted, applies
// committed entries, and compacts.

// appendEntries stores new entries (replacing any conflicting suffix, as
// etcd raft asks) and their blocks, which must be durable before this
// Ready's messages leave.
func (e *Engine) appendEntries(ents []*raftpb.Entry) {
	_ = e.ms.Append(ents) // etcd raft hands entries that follow the log
	first := ents[0].GetIndex()
	for len(e.log) > 0 && e.log[len(e.log)-1].index >= first {
		e.log = e.log[:len(e.log)-1]
	}
	for _, ent := range ents {
		le := logEntry{index: ent.GetIndex(), term: ent.GetTerm()}
		if b, id := e.appendedBlock(ent); b != nil {
			le.block, le.height = id, b.Height
			e.blocks[le.block] = b
			e.out.blocks = append(e.out.blocks, b) // durable before this Ready's messages
		}
		e.log = append(e.log, le)
	}
	e.out.dirty = true
}

// proposedBlock is a block this node proposed, with its encoding and ID.
type proposedBlock struct {
	data  []byte
	block *types.Block
	id    types.BlockID
}

// appendedBlock is the block of an entry being appended, with its ID:
// this node's own proposal if the entry carries its exact bytes (forgetting
// the proposals before it, which etcd raft dropped), else decoded and
// hashed from the entry.
func (e *Engine) appendedBlock(ent *raftpb.Entry) (*types.Block, types.BlockID) {
	for i, p := range e.proposed {
		if bytes.Equal(p.data, ent.GetData()) {
			e.proposed = e.proposed[i+1:]
			return p.block, p.id
		}
	}
	b := entryBlock(ent)
	if b == nil {
		return nil, types.BlockID{}
	}
	return b, b.ID()
}

// entryBlock decodes the block of a normal entry, or returns nil (an empty
// entry, or one that does not decode: every entry was checked on Step or
// built here, so that does not happen).
func entryBlock(ent *raftpb.Entry) *types.Block {
	if ent.GetType() != raftpb.EntryType_EntryNormal || len(ent.GetData()) == 0 {
		return nil
	}
	b, err := decodeBlock(ent.GetData())
	if err != nil {
		return nil
	}
	return b
}

// loggedBlock is the block of a committed entry, with its ID: the one
// decoded and hashed when the entry was appended (the mirror names it by
// index), so that each block is decoded and hashed once; decoded from the
// entry only if the log has moved on (a restart redelivering applied
// entries).
func (e *Engine) loggedBlock(ent *raftpb.Entry) (*types.Block, types.BlockID) {
	if len(ent.GetData()) == 0 {
		return nil, types.BlockID{}
	}
	if n := len(e.log); n > 0 {
		first := e.log[0].index
		if i := ent.GetIndex(); i >= first && i-first < uint64(n) {
			if le := e.log[i-first]; le.index == i && le.term == ent.GetTerm() {
				if b := e.blocks[le.block]; b != nil {
					return b, le.block
				}
			}
		}
	}
	b := entryBlock(ent)
	if b == nil {
		return nil, types.BlockID{}
	}
	return b, b.ID()
}

// applyEntry hands a committed entry's block to the driver, in height
// order. While a snapshot's missing blocks are being fetched, later
// blocks wait behind them, and the durable applied index stays before
// them: after a crash, etcd raft hands them out again (they are still in
// the log, which is compacted only up to the applied index).
func (e *Engine) applyEntry(ent *raftpb.Entry) {
	e.seen = max(e.seen, ent.GetIndex())
	if b, id := e.loggedBlock(ent); b != nil {
		e.commitBlock(b, id)
	}
	if e.catchUp == nil {
		e.applied = max(e.applied, ent.GetIndex())
		e.out.dirty = true
	}
}

// commitBlock hands b, whose ID is id, to the driver if it extends the
// committed chain.
// Raft's Log Matching property makes every committed block do so; one that
// does not means the log was forked (a Byzantine leader) and is reported
// to the driver as it is, where the oracle catches it.
func (e *Engine) commitBlock(b *types.Block, id types.BlockID) {
	if b.Height <= e.committed.height {
		return // already handed out (a catch-up overlapping the log)
	}
	e.decided = max(e.decided, b.Height)
	if e.catchUp != nil {
		e.catchUp.after = append(e.catchUp.after, b)
		return
	}
	if b.Height != e.committed.height+1 {
		// Entries past a snapshot whose blocks are not here yet: fetch
		// them first (restart mid-catch-up, or a snapshot skipped ahead).
		e.startCatchUp(blockRef{b.Height - 1, b.ParentID}, e.snapFrom)
		if e.catchUp != nil {
			e.catchUp.after = append(e.catchUp.after, b)
		}
		return
	}
	e.emit(b, id)
}

// emit hands b, whose ID is id, to the driver as the next committed block.
func (e *Engine) emit(b *types.Block, id types.BlockID) {
	e.out.commits = append(e.out.commits, types.CommittedBlock{ID: id, Block: b})
	e.committed = blockRef{b.Height, id}
	e.remember(b, id)
}

// remember keeps the last RetainCommitted committed blocks, which entries
// of the log (and a restart's lookup) may still name; peers' fetches are
// the driver's block server's, from the store.
func (e *Engine) remember(b *types.Block, id types.BlockID) {
	if _, ok := e.recent[id]; ok {
		return
	}
	e.recent[id] = b
	e.order = append(e.order, id)
	if uint64(len(e.order)) > e.cfg.RetainCommitted {
		delete(e.recent, e.order[0])
		e.order = e.order[1:]
	}
}

// recomputeTail finds the last block of this node's own log, which a
// leader's next block extends.
func (e *Engine) recomputeTail() {
	for i := len(e.log) - 1; i >= 0; i-- {
		if !e.log[i].block.IsZero() {
			e.tail = blockRef{e.log[i].height, e.log[i].block}
			return
		}
	}
	e.tail = blockRef{e.snap.height, e.snap.block}
	if e.committed.height > e.tail.height {
		e.tail = e.committed
	}
}

// compact folds applied entries more than RetainEntries behind into the
// snapshot point, so the log stays bounded.
func (e *Engine) compact() {
	if e.applied < e.snap.index+2*e.cfg.RetainEntries {
		return
	}
	idx := e.applied - e.cfg.RetainEntries
	point := logEntry{index: idx, block: e.snap.block, height: e.snap.height}
	keep := e.log[:0:0]
	for _, le := range e.log {
		switch {
		case le.index < idx:
			if !le.block.IsZero() {
				point.block, point.height = le.block, le.height
				delete(e.blocks, le.block)
			}
		case le.index == idx:
			point.term = le.term
			if !le.block.IsZero() {
				point.block, point.height = le.block, le.height
			}
			keep = append(keep, le) // the entry at the snapshot index stays addressable by term
		default:
			keep = append(keep, le)
		}
	}
	if _, err := e.ms.CreateSnapshot(idx, e.confState(), snapshotData(point)); err != nil {
		return
	}
	if err := e.ms.Compact(idx); err != nil {
		return
	}
	e.snap = point
	e.log = keep[min(1, len(keep)):] // entries after the snapshot index
	e.out.dirty = true
}

func (e *Engine) confState() *raftpb.ConfState {
	voters := make([]uint64, e.cfg.N)
	for i := range voters {
		voters[i] = uint64(i) + 1
	}
	return &raftpb.ConfState{Voters: voters}
}

// snapshotData names the last block at or before a snapshot's index.
func snapshotData(p logEntry) []byte {
	data, err := (&types.RaftEntry{Index: p.index, Term: p.term, BlockID: p.block, Height: p.height}).Marshal()
	if err != nil {
		panic(fmt.Sprintf("raft: encode snapshot data: %v", err)) // cannot fail
	}
	return data
}

// applySnapshot replaces the log with a snapshot received from the leader
// and starts fetching the blocks up to the one it names.
func (e *Engine) applySnapshot(snap *raftpb.Snapshot) {
	var p types.RaftEntry
	if err := p.Unmarshal(snap.GetData()); err != nil {
		return // a snapshot this package did not make: nothing to fetch
	}
	_ = e.ms.ApplySnapshot(snap)
	md := snap.GetMetadata()
	e.snap = logEntry{index: md.GetIndex(), term: md.GetTerm(), block: p.BlockID, height: p.Height}
	e.log = nil
	e.applied = max(e.applied, md.GetIndex()) // a restart fetches up to the snapshot again
	e.seen = max(e.seen, md.GetIndex())
	e.out.dirty = true
	if p.Height > e.committed.height {
		e.startCatchUp(blockRef{p.Height, p.BlockID}, e.snapFrom)
	}
}

// countEntries counts the entries field of an encoded raftpb.Message
// without decoding it.
func countEntries(data []byte) (int, error) {
	const entriesField protowire.Number = 7
	n := 0
	for len(data) > 0 {
		num, typ, k := protowire.ConsumeTag(data)
		if k < 0 {
			return n, protowire.ParseError(k)
		}
		data = data[k:]
		m := protowire.ConsumeFieldValue(num, typ, data)
		if m < 0 {
			return n, protowire.ParseError(m)
		}
		data = data[m:]
		if num == entriesField {
			n++
		}
	}
	return n, nil
}
