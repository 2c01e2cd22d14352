package store

import (
	"encoding/binary"
	"fmt"

	"github.com/bftkit/bftkit/types"
)

// maxValueBytes bounds every stored value. The largest legitimate value is
// a committed record: a block of at most MaxBlockBytes of transactions, its
// proof and framing, which MaxMessageBytes (a block plus 1 MiB) covers.
// Writes enforce the same bound as reads, so the store never writes what it
// would later refuse as corrupt.
const maxValueBytes = types.MaxMessageBytes

// encodeBlock is the block's gogoproto encoding, within maxValueBytes.
func encodeBlock(b *types.Block) ([]byte, error) {
	data, err := b.Marshal()
	if err != nil {
		return nil, fmt.Errorf("store: encode block at height %d: %w", b.Height, err)
	}
	if len(data) > maxValueBytes {
		return nil, fmt.Errorf("store: block at height %d is %d bytes, limit %d", b.Height, len(data), maxValueBytes)
	}
	return data, nil
}

// decodeBlock decodes the block stored under key and checks that its ID is
// want: a block that decodes but hashes to another ID is as corrupt as one
// that does not decode, and must not be handed to an engine under the
// wrong name.
func decodeBlock(key, data []byte, want types.BlockID) (*types.Block, error) {
	if len(data) > maxValueBytes {
		return nil, corruptf(key, "value of %d bytes exceeds the limit of %d", len(data), maxValueBytes)
	}
	b := new(types.Block)
	if err := b.Unmarshal(data); err != nil {
		return nil, corruptf(key, "block does not decode: %v", err)
	}
	if got := b.ID(); got != want {
		return nil, corruptf(key, "block hashes to %s, stored as %s", got.Hex(), want.Hex())
	}
	return b, nil
}

// encodeCommitted lays out a committed record as
//
//	id (32 bytes) | uvarint len(proof) | proof | block (gogoproto)
//
// The ID is stored so that a read can check the block against it, and so
// that the ID→height index can be checked against the record it points to.
// An empty proof reads back as nil.
func encodeCommitted(cb types.CommittedBlock) ([]byte, error) {
	block, err := encodeBlock(cb.Block)
	if err != nil {
		return nil, err
	}
	n := idLen + binary.MaxVarintLen64 + len(cb.Proof) + len(block)
	if n > maxValueBytes {
		return nil, fmt.Errorf("store: committed block at height %d with its proof is %d bytes, limit %d", cb.Block.Height, n, maxValueBytes)
	}
	out := make([]byte, 0, n)
	out = append(out, cb.ID[:]...)
	out = binary.AppendUvarint(out, uint64(len(cb.Proof)))
	out = append(out, cb.Proof...)
	return append(out, block...), nil
}

// decodeCommitted decodes the record under key, which must hold the block
// at height. It checks the record's framing, that the block hashes to the
// stored ID, and that the block is at the height of its key.
func decodeCommitted(key, data []byte, height uint64) (types.CommittedBlock, error) {
	if len(data) > maxValueBytes {
		return types.CommittedBlock{}, corruptf(key, "value of %d bytes exceeds the limit of %d", len(data), maxValueBytes)
	}
	if len(data) < idLen {
		return types.CommittedBlock{}, corruptf(key, "record of %d bytes is shorter than a block ID", len(data))
	}
	var cb types.CommittedBlock
	copy(cb.ID[:], data[:idLen])
	rest := data[idLen:]
	plen, n := binary.Uvarint(rest)
	if n <= 0 || plen > uint64(len(rest)-n) {
		return types.CommittedBlock{}, corruptf(key, "proof length does not fit the record")
	}
	rest = rest[n:]
	if plen > 0 {
		cb.Proof = append([]byte(nil), rest[:plen]...)
	}
	b, err := decodeBlock(key, rest[plen:], cb.ID)
	if err != nil {
		return types.CommittedBlock{}, err
	}
	if b.Height != height {
		return types.CommittedBlock{}, corruptf(key, "block is at height %d", b.Height)
	}
	cb.Block = b
	return cb, nil
}

func encodeHeight(h uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, h)
}

func decodeHeight(key, data []byte) (uint64, error) {
	if len(data) != heightLen {
		return 0, corruptf(key, "height of %d bytes, want %d", len(data), heightLen)
	}
	return binary.BigEndian.Uint64(data), nil
}
