package store

import (
	"fmt"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"

	"github.com/bftkit/bftkit/types"
)

// Batch is the durable part of one types.Ready.
//
// Persist takes a Batch rather than a Ready so that the store depends only
// on what it stores: Messages, requests and evidence are not durable, and a
// Batch says so in its type. It can also be built without an engine (a
// replay tool, a test, another protocol's driver). FromReady is the one
// place that maps a Ready onto it.
type Batch struct {
	// SafetyState replaces the stored safety state if non-nil; an empty
	// non-nil slice is stored as empty, nil leaves the state unchanged.
	SafetyState []byte
	// Blocks are stored by ID as pending blocks, unless they are at or below
	// the committed height after this batch (see Persist).
	Blocks []*types.Block
	// Committed extend the committed chain: the first at Height()+1, each
	// the next height.
	Committed []types.CommittedBlock
}

// FromReady is the durable part of rd. It shares rd's slices.
func FromReady(rd *types.Ready) Batch {
	return Batch{SafetyState: rd.SafetyState, Blocks: rd.Blocks, Committed: rd.Committed}
}

// isEmpty reports whether b asks for no write.
func (b *Batch) isEmpty() bool {
	return b.SafetyState == nil && len(b.Blocks) == 0 && len(b.Committed) == 0
}

// syncWrite is the durability point: the write returns only after the
// journal is fsynced.
var syncWrite = &opt.WriteOptions{Sync: true}

// Persist writes b as one synced LevelDB batch: when it returns nil, all of
// b is on disk and survives a crash; a crash before that leaves none of it
// (a torn journal record is discarded as a whole when the store reopens).
// The node calls it before sending any message of the Ready, which is the
// order the types.Ready contract requires.
//
// In the same batch:
//   - the safety state, if non-nil;
//   - each committed block by height with its proof, its ID→height index
//     entry and the new committed height. They must extend the stored chain
//     with no gap (heights Height()+1, +2, ...) and each ID must be its
//     block's ID; otherwise Persist writes nothing and returns an error;
//   - each pending block by ID, with its height index entry;
//   - the removal of every pending block at a height the batch commits.
//     Those that committed are now in the committed table; the others lost
//     and no engine needs them again. For the same reason a block in
//     b.Blocks at or below the new committed height is not stored at all,
//     so the pending table only ever holds blocks above the committed
//     height and the removal scans only the heights just committed.
//
// An empty batch writes nothing and costs no fsync: most Readies carry only
// messages.
//
// Any error means the batch may or may not be on disk (a failed fsync
// leaves it unknown). The node must not send the Ready's messages and
// should stop; reopening the store shows what survived.
func (s *Store) Persist(b Batch) error {
	if b.isEmpty() {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	last := s.height.Load()
	top := last + uint64(len(b.Committed))
	wb := new(leveldb.Batch)

	if b.SafetyState != nil {
		if len(b.SafetyState) > maxValueBytes {
			return fmt.Errorf("store: safety state of %d bytes exceeds the limit of %d", len(b.SafetyState), maxValueBytes)
		}
		wb.Put(keySafety, b.SafetyState)
	}
	for i, blk := range b.Blocks {
		if blk == nil {
			return fmt.Errorf("store: blocks[%d] is nil", i)
		}
		if blk.Height <= top {
			continue
		}
		data, err := encodeBlock(blk)
		if err != nil {
			return err
		}
		id := blk.ID()
		wb.Put(blockKey(id), data)
		wb.Put(pendingKey(blk.Height, id), nil)
	}
	for i, cb := range b.Committed {
		want := last + 1 + uint64(i)
		if cb.Block == nil {
			return fmt.Errorf("store: committed[%d] (height %d) has no block", i, want)
		}
		if cb.Block.Height != want {
			return fmt.Errorf("store: committed[%d] is at height %d, but the chain is at %d and must be extended by height %d with no gap",
				i, cb.Block.Height, want-1, want)
		}
		if id := cb.Block.ID(); cb.ID != id {
			return fmt.Errorf("store: committed block at height %d is named %s but hashes to %s", want, cb.ID.Hex(), id.Hex())
		}
		rec, err := encodeCommitted(cb)
		if err != nil {
			return err
		}
		wb.Put(committedKey(want), rec)
		wb.Put(indexKey(cb.ID), encodeHeight(want))
	}
	if top > last {
		wb.Put(keyHeight, encodeHeight(top))
		if err := s.dropPending(wb, last+1, top); err != nil {
			return err
		}
	}
	if err := s.db.Write(wb, syncWrite); err != nil {
		return fmt.Errorf("store: persist (heights %d..%d): %w", last+1, top, err)
	}
	s.remember(b.Committed, top)
	s.height.Store(top)
	return nil
}

// remember keeps the newly committed blocks in recent, forgetting those
// recentCommitted below top.
func (s *Store) remember(cbs []types.CommittedBlock, top uint64) {
	if len(cbs) == 0 {
		return
	}
	s.recentMu.Lock()
	defer s.recentMu.Unlock()
	for _, cb := range cbs {
		s.recent[cb.Block.Height] = cb
	}
	for h := range s.recent {
		if h+recentCommitted <= top {
			delete(s.recent, h)
		}
	}
}

// dropPending adds to wb the deletion of every pending block with
// from <= height <= to. Persist holds writeMu, so the database cannot change
// under the scan.
func (s *Store) dropPending(wb *leveldb.Batch, from, to uint64) error {
	start, limit := pendingRange(from, to+1)
	it := s.db.NewIterator(&util.Range{Start: start, Limit: limit}, nil)
	defer it.Release()
	for it.Next() {
		_, id, ok := parsePendingKey(it.Key())
		if !ok {
			return corruptf(it.Key(), "malformed pending index key")
		}
		wb.Delete(it.Key()) // the batch copies keys
		wb.Delete(blockKey(id))
	}
	if err := it.Error(); err != nil {
		return readErr(start, err)
	}
	return nil
}
