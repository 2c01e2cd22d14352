package store

import (
	"errors"
	"fmt"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/iterator"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"

	"github.com/bftkit/bftkit/types"
)

// reader is what the database and a snapshot of it have in common, so that
// a read spanning several keys can run on a snapshot and see one batch or
// the next, never half of one.
type reader interface {
	Get(key []byte, ro *opt.ReadOptions) ([]byte, error)
	NewIterator(slice *util.Range, ro *opt.ReadOptions) iterator.Iterator
}

// SafetyState is the last safety state persisted, nil if none ever was.
func (s *Store) SafetyState() ([]byte, error) {
	return s.safetyState(s.db)
}

func (s *Store) safetyState(r reader) ([]byte, error) {
	data, err := r.Get(keySafety, nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, readErr(keySafety, err)
	}
	if len(data) > maxValueBytes {
		return nil, corruptf(keySafety, "value of %d bytes exceeds the limit of %d", len(data), maxValueBytes)
	}
	if data == nil {
		data = []byte{} // persisted, though empty: not "none"
	}
	return data, nil
}

// Height is the height of the last committed block, 0 if none.
func (s *Store) Height() uint64 { return s.height.Load() }

// CommittedBlock returns the committed block at height with its ID and
// proof. A height above Height (or 0) is ErrNotFound; a height at or below
// it whose record is missing or fails its checks is ErrCorrupt. One of the
// last blocks this Store committed comes from memory, shared with other
// readers: callers must not modify it.
func (s *Store) CommittedBlock(height uint64) (types.CommittedBlock, error) {
	if height != 0 && height <= s.height.Load() {
		s.recentMu.Lock()
		cb, ok := s.recent[height]
		s.recentMu.Unlock()
		if ok {
			return cb, nil
		}
	}
	return s.committed(s.db, height)
}

// committed reads the committed record at height through r.
//
// The height is checked against the cached height before the read, not
// after: the cache is stored after the batch that wrote the record, so a
// record at or below a height loaded first is certainly written, and its
// absence is corruption rather than a race with Persist.
func (s *Store) committed(r reader, height uint64) (types.CommittedBlock, error) {
	if height == 0 || height > s.height.Load() {
		return types.CommittedBlock{}, fmt.Errorf("store: committed block at height %d: %w", height, ErrNotFound)
	}
	return readCommitted(r, height)
}

// readCommitted reads the record at height, which must exist.
func readCommitted(r reader, height uint64) (types.CommittedBlock, error) {
	key := committedKey(height)
	data, err := r.Get(key, nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return types.CommittedBlock{}, corruptf(key, "missing, though the committed height is at least %d", height)
	}
	if err != nil {
		return types.CommittedBlock{}, readErr(key, err)
	}
	return decodeCommitted(key, data, height)
}

// CommittedID is the ID of the committed block at height, with the errors
// of CommittedBlock.
func (s *Store) CommittedID(height uint64) (types.BlockID, error) {
	cb, err := s.CommittedBlock(height)
	return cb.ID, err
}

// BlockByID returns a stored block: committed (found through the ID→height
// index) or pending. Both lookups read one snapshot, so a block that
// Persist is moving from pending to committed is found in one place or the
// other.
func (s *Store) BlockByID(id types.BlockID) (*types.Block, error) {
	snap, err := s.db.GetSnapshot()
	if err != nil {
		return nil, fmt.Errorf("store: snapshot: %w", err)
	}
	defer snap.Release()
	return s.blockByID(snap, id)
}

func (s *Store) blockByID(r reader, id types.BlockID) (*types.Block, error) {
	ikey := indexKey(id)
	data, err := r.Get(ikey, nil)
	switch {
	case err == nil:
		h, err := decodeHeight(ikey, data)
		if err != nil {
			return nil, err
		}
		key := committedKey(h)
		data, err := r.Get(key, nil)
		if errors.Is(err, leveldb.ErrNotFound) {
			return nil, corruptf(ikey, "points to height %d, which holds no committed block", h)
		}
		if err != nil {
			return nil, readErr(key, err)
		}
		cb, err := decodeCommitted(key, data, h)
		if err != nil {
			return nil, err
		}
		if cb.ID != id {
			return nil, corruptf(ikey, "points to height %d, which holds block %s", h, cb.ID.Hex())
		}
		return cb.Block, nil
	case !errors.Is(err, leveldb.ErrNotFound):
		return nil, readErr(ikey, err)
	}
	bkey := blockKey(id)
	data, err = r.Get(bkey, nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return nil, fmt.Errorf("store: block %s: %w", id.Hex(), ErrNotFound)
	}
	if err != nil {
		return nil, readErr(bkey, err)
	}
	return decodeBlock(bkey, data, id)
}
