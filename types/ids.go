package types

import (
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/bftkit/bftkit/crypto"
)

// BlockID is the SHA-256 of a block's canonical header (Block.ID). The zero
// BlockID names no block; it is the parent of the first block.
type BlockID [crypto.HashSize]byte

// ValidatorIndex is a validator's position in the validator set, 0..n-1.
type ValidatorIndex uint32

// Tx is one opaque application transaction.
type Tx []byte

// Hash is the SHA-256 of the transaction's bytes, its identity in the mempool.
func (tx Tx) Hash() crypto.Hash { return crypto.Sum256(tx) }

// IsZero reports whether id is the zero BlockID.
func (id BlockID) IsZero() bool { return id == BlockID{} }

// String is a short hex prefix for logs and test traces.
func (id BlockID) String() string { return hex.EncodeToString(id[:6]) }

// Hex is the full hex encoding.
func (id BlockID) Hex() string { return hex.EncodeToString(id[:]) }

// The methods below make BlockID a gogoproto custom type: it is carried as
// bytes on the wire and decoding rejects any length other than 32.

// Size is the encoded length.
func (id BlockID) Size() int { return len(id) }

// Marshal returns the 32 bytes.
func (id BlockID) Marshal() ([]byte, error) { return append([]byte(nil), id[:]...), nil }

// MarshalTo copies the 32 bytes into data.
func (id BlockID) MarshalTo(data []byte) (int, error) {
	if len(data) < len(id) {
		return 0, fmt.Errorf("block id: buffer of %d bytes, need %d", len(data), len(id))
	}
	return copy(data, id[:]), nil
}

// Unmarshal decodes exactly 32 bytes.
func (id *BlockID) Unmarshal(data []byte) error {
	if len(data) != len(id) {
		return fmt.Errorf("block id: got %d bytes, want %d", len(data), len(id))
	}
	copy(id[:], data)
	return nil
}

// Equal reports whether two IDs are the same.
func (id BlockID) Equal(other BlockID) bool { return id == other }

// MarshalJSON encodes the ID as a hex string.
func (id BlockID) MarshalJSON() ([]byte, error) { return json.Marshal(id.Hex()) }

// UnmarshalJSON decodes a hex string of 32 bytes.
func (id *BlockID) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("block id: %w", err)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("block id: %w", err)
	}
	return id.Unmarshal(b)
}
