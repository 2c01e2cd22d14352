package store

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/bftkit/bftkit/types"
)

// Key layout. Every key starts with a one-byte table prefix; heights are
// big-endian so that LevelDB's byte order is height order and a height
// range is one contiguous key range.
//
//	v                    format version (uvarint)
//	s                    safety state (opaque engine bytes)
//	h                    committed height (8 bytes, big-endian)
//	c | height           committed record: ID, proof, block (codec.go)
//	i | id               ID → height of a committed block (8 bytes)
//	b | id               pending block (gogoproto encoding)
//	p | height | id      pending index (empty value)
//
// Pending blocks are stored by ID, because that is how the engine and
// BlockByID name them, and indexed by height then ID, so that discarding
// every pending block at or below a newly committed height is a scan of
// exactly the keys in that height range: the work is bounded by the
// garbage, not by the size of the table, and the scan never walks the
// deletion markers left by earlier commits (they sit below the range).
const (
	prefixVersion   = 'v'
	prefixSafety    = 's'
	prefixHeight    = 'h'
	prefixCommitted = 'c'
	prefixIndex     = 'i'
	prefixBlock     = 'b'
	prefixPending   = 'p'
)

var (
	keyVersion = []byte{prefixVersion}
	keySafety  = []byte{prefixSafety}
	keyHeight  = []byte{prefixHeight}
)

const (
	heightLen = 8
	idLen     = len(types.BlockID{})
)

func committedKey(height uint64) []byte {
	k := make([]byte, 1+heightLen)
	k[0] = prefixCommitted
	binary.BigEndian.PutUint64(k[1:], height)
	return k
}

func indexKey(id types.BlockID) []byte {
	return append([]byte{prefixIndex}, id[:]...)
}

func blockKey(id types.BlockID) []byte {
	return append([]byte{prefixBlock}, id[:]...)
}

func pendingKey(height uint64, id types.BlockID) []byte {
	k := make([]byte, 1+heightLen+idLen)
	k[0] = prefixPending
	binary.BigEndian.PutUint64(k[1:], height)
	copy(k[1+heightLen:], id[:])
	return k
}

// pendingFrom is the first pending-index key at height: the bound of a
// height range scan.
func pendingFrom(height uint64) []byte {
	k := make([]byte, 1+heightLen)
	k[0] = prefixPending
	binary.BigEndian.PutUint64(k[1:], height)
	return k
}

// pendingRange is the half-open key range of pending-index keys with
// from <= height < to; to == 0 means "to the end of the table".
func pendingRange(from, to uint64) (start, limit []byte) {
	start = pendingFrom(from)
	if to == 0 {
		return start, []byte{prefixPending + 1}
	}
	return start, pendingFrom(to)
}

// parsePendingKey splits a pending-index key into its height and ID.
func parsePendingKey(k []byte) (uint64, types.BlockID, bool) {
	var id types.BlockID
	if len(k) != 1+heightLen+idLen || k[0] != prefixPending {
		return 0, id, false
	}
	copy(id[:], k[1+heightLen:])
	return binary.BigEndian.Uint64(k[1 : 1+heightLen]), id, true
}

// keyName renders a key for error messages, so that an operator reading
// "corrupt" learns which record it is.
func keyName(k []byte) string {
	if len(k) == 0 {
		return "<empty key>"
	}
	rest := k[1:]
	switch {
	case len(k) == 1 && k[0] == prefixVersion:
		return "version"
	case len(k) == 1 && k[0] == prefixSafety:
		return "safety-state"
	case len(k) == 1 && k[0] == prefixHeight:
		return "committed-height"
	case k[0] == prefixCommitted && len(rest) == heightLen:
		return fmt.Sprintf("committed/%d", binary.BigEndian.Uint64(rest))
	case k[0] == prefixIndex && len(rest) == idLen:
		return "index/" + hex.EncodeToString(rest)
	case k[0] == prefixBlock && len(rest) == idLen:
		return "block/" + hex.EncodeToString(rest)
	case k[0] == prefixPending && len(rest) == heightLen+idLen:
		return fmt.Sprintf("pending/%d/%s", binary.BigEndian.Uint64(rest[:heightLen]), hex.EncodeToString(rest[heightLen:]))
	}
	return fmt.Sprintf("raw/%x", k)
}
