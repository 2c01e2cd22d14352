package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/util"

	"github.com/bftkit/bftkit/types"
)

// Restored is what an engine needs after a restart. It is the store's own
// type, not an engine's, so that the store does not depend on any protocol;
// the node maps it onto the engine's (for HotStuff: SafetyState → Safety,
// Pending → Blocks, Committed → Committed).
type Restored struct {
	// SafetyState is the last persisted safety state, nil if none.
	SafetyState []byte
	// Pending are the stored blocks above the committed height, by ID.
	Pending map[types.BlockID]*types.Block
	// Committed are the last committed blocks in height order, ending at
	// Height; at most the retain asked for.
	Committed []types.CommittedBlock
	// Height is the committed height, 0 if nothing is committed.
	Height uint64
}

// Restore reads, from one snapshot, the safety state, every pending block
// and the last retain committed blocks. Only a tail of the chain is read: an
// engine needs the last committed block to extend and a few recent ones to
// serve peers, and a real chain is far too long to load; older blocks stay
// readable through CommittedBlock.
//
// An engine that resumes from the last committed block needs retain >= 1
// whenever Height > 0; retain 0 reads no committed block.
func (s *Store) Restore(retain uint64) (Restored, error) {
	snap, err := s.db.GetSnapshot()
	if err != nil {
		return Restored{}, fmt.Errorf("store: snapshot: %w", err)
	}
	defer snap.Release()

	var r Restored
	if r.SafetyState, err = s.safetyState(snap); err != nil {
		return Restored{}, err
	}
	if r.Height, err = loadHeight(snap); err != nil {
		return Restored{}, err
	}
	if r.Pending, err = pendingAbove(snap, r.Height); err != nil {
		return Restored{}, err
	}
	if r.Committed, err = committedTail(snap, r.Height, retain); err != nil {
		return Restored{}, err
	}
	return r, nil
}

// pendingAbove reads the pending blocks above height through the pending
// index, checking that each indexed block is stored, is the block its ID
// names and is at the height it is indexed at.
func pendingAbove(r reader, height uint64) (map[types.BlockID]*types.Block, error) {
	out := make(map[types.BlockID]*types.Block)
	start, limit := pendingRange(height+1, 0)
	it := r.NewIterator(&util.Range{Start: start, Limit: limit}, nil)
	defer it.Release()
	for it.Next() {
		h, id, ok := parsePendingKey(it.Key())
		if !ok {
			return nil, corruptf(it.Key(), "malformed pending index key")
		}
		bkey := blockKey(id)
		data, err := r.Get(bkey, nil)
		if errors.Is(err, leveldb.ErrNotFound) {
			return nil, corruptf(it.Key(), "indexes a block that is not stored")
		}
		if err != nil {
			return nil, readErr(bkey, err)
		}
		b, err := decodeBlock(bkey, data, id)
		if err != nil {
			return nil, err
		}
		if b.Height != h {
			return nil, corruptf(bkey, "block at height %d is indexed at height %d", b.Height, h)
		}
		out[id] = b
	}
	if err := it.Error(); err != nil {
		return nil, readErr(start, err)
	}
	return out, nil
}

// committedTail reads the committed blocks max(1, height-retain+1)..height,
// each of which must be present.
func committedTail(r reader, height, retain uint64) ([]types.CommittedBlock, error) {
	if height == 0 || retain == 0 {
		return nil, nil
	}
	from := uint64(1)
	if retain < height {
		from = height - retain + 1
	}
	out := make([]types.CommittedBlock, 0, height-from+1)
	it := r.NewIterator(&util.Range{Start: committedKey(from), Limit: committedKey(height + 1)}, nil)
	defer it.Release()
	next := from
	for it.Next() {
		key := it.Key()
		if len(key) != 1+heightLen {
			return nil, corruptf(key, "malformed committed key")
		}
		if h := binary.BigEndian.Uint64(key[1:]); h != next {
			return nil, corruptf(committedKey(next), "missing, though the committed height is %d", height)
		}
		cb, err := decodeCommitted(key, it.Value(), next)
		if err != nil {
			return nil, err
		}
		out = append(out, cb)
		next++
	}
	if err := it.Error(); err != nil {
		return nil, readErr(committedKey(from), err)
	}
	if next != height+1 {
		return nil, corruptf(committedKey(next), "missing, though the committed height is %d", height)
	}
	return out, nil
}
