package app

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
)

// The kvstore's app hash is a hash chain over the writes, not a hash of
// the state:
//
//	appHash_0 = SHA-256(field("") || uint64(0) || genesis writes, by key)
//	appHash_h = SHA-256(field(appHash_{h-1}) || uint64(h) || writes of block h, in block order)
//
// where a write is field(key) || field(value) and field(b) is a 4-byte
// big-endian length followed by b. The length prefixes make the encoding
// unambiguous ("ab"+"c" differs from "a"+"bc").
//
// Why a chain: hashing the whole state (or maintaining a Merkle tree over
// it) costs O(state) or O(writes * log state) per block; the chain costs
// O(block). It is still what consensus needs: replicas that executed the
// same blocks from the same genesis hold the same chain, and any
// divergence (a missed write, a different value, a different order)
// changes every later hash. The price is that the hash commits to the
// history, not only to the current state: two histories that end in the
// same key/value set have different hashes, and the hash alone cannot
// prove a key's value to a light client.

// blockHasher accumulates one link of the chain.
type blockHasher struct {
	h hash.Hash
}

// newBlockHasher starts the link of height on top of prev (nil or empty at
// genesis).
func newBlockHasher(prev []byte, height uint64) *blockHasher {
	b := &blockHasher{h: sha256.New()}
	b.field(prev)
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], height)
	b.h.Write(buf[:])
	return b
}

// write adds one applied write.
func (b *blockHasher) write(key, value []byte) {
	b.field(key)
	b.field(value)
}

// sum returns the app hash of the link.
func (b *blockHasher) sum() []byte {
	return b.h.Sum(nil)
}

// field writes a length-prefixed byte string. Keys are at most
// MaxKeyBytes and values below MaxTxBytes, so 4 bytes always suffice.
func (b *blockHasher) field(p []byte) {
	var buf [4]byte
	binary.BigEndian.PutUint32(buf[:], uint32(len(p)))
	b.h.Write(buf[:])
	b.h.Write(p)
}
