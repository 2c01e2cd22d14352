package types

import (
	"encoding/binary"
	"hash/maphash"
	"sync"
	"unsafe"
)

// idMemo remembers the IDs of recently hashed blocks. An entry is keyed by
// the block's address and holds a fingerprint of every field the ID
// covers, so it answers only for the same block with the same contents:
//
//   - a block changed after its ID was taken has a new fingerprint and is
//     hashed again;
//   - a copy (another address) is hashed again;
//   - an address reused by the garbage collector for another block misses,
//     unless that block has the same contents and so the same ID.
//
// The fingerprint is 64-bit maphash with a seed drawn at start-up, about
// fifteen times faster than the Merkle root. It is not a cryptographic
// hash: the memo's answer is wrong only if a block at a remembered address
// (changed in place, or another block at a reused address) has different
// contents with the same fingerprint, a blind 64-bit collision under a
// seed no peer knows, and peers cannot change blocks in this process's
// memory, only send new ones. The memo holds addresses, not pointers, so
// it keeps no block alive. It is direct-mapped and small: a block is
// hashed repeatedly within moments of arriving.
type idMemo struct {
	seed    maphash.Seed
	mu      sync.Mutex
	entries [idMemoEntries]idMemoEntry
}

const idMemoEntries = 256

type idMemoEntry struct {
	addr        uintptr
	fingerprint uint64
	id          BlockID
}

var blockIDs = &idMemo{seed: maphash.MakeSeed()}

func (m *idMemo) id(b *Block) BlockID {
	addr := uintptr(unsafe.Pointer(b))
	slot := &m.entries[(addr>>4)%idMemoEntries]
	fp := m.fingerprint(b)
	m.mu.Lock()
	hit := slot.addr == addr && slot.fingerprint == fp
	id := slot.id
	m.mu.Unlock()
	if hit {
		return id
	}
	id = b.computeID()
	m.mu.Lock()
	*slot = idMemoEntry{addr: addr, fingerprint: fp, id: id}
	m.mu.Unlock()
	return id
}

// fingerprint hashes every field of b that its ID covers, each variable
// length one behind its length, so that no two different blocks are
// fingerprinted from the same byte stream.
func (m *idMemo) fingerprint(b *Block) uint64 {
	var h maphash.Hash
	h.SetSeed(m.seed)
	var buf [8]byte
	u64 := func(v uint64) {
		binary.LittleEndian.PutUint64(buf[:], v)
		h.Write(buf[:])
	}
	bytes := func(p []byte) {
		u64(uint64(len(p)))
		h.Write(p)
	}
	u64(b.Height)
	u64(b.View)
	h.Write(b.ParentID[:])
	u64(uint64(b.Proposer))
	bytes(b.ParentAppHash)
	if qc := b.Justify; qc == nil {
		u64(0)
	} else {
		u64(1)
		u64(qc.View)
		h.Write(qc.BlockID[:])
		bytes(qc.Signers)
		bytes(qc.Signature)
	}
	u64(uint64(len(b.Txs)))
	for _, tx := range b.Txs {
		bytes(tx)
	}
	return h.Sum64()
}
