package mempool

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// TxHash identifies a tx in the mempool: the SHA-256 of its bytes, the same
// digest as types.Tx.Hash, so clients and blocks name a tx identically.
type TxHash [sha256.Size]byte

// HashTx returns the hash of tx.
func HashTx(tx []byte) TxHash { return sha256.Sum256(tx) }

// String is the full hex encoding: clients look txs up by it.
func (h TxHash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText encodes the hash as hex, for JSON responses.
func (h TxHash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText decodes hex; see ParseTxHash.
func (h *TxHash) UnmarshalText(text []byte) error {
	p, err := ParseTxHash(string(text))
	if err != nil {
		return err
	}
	*h = p
	return nil
}

// ParseTxHash decodes the hex form String returns (e.g. from a query
// parameter), requiring exactly 32 bytes.
func ParseTxHash(s string) (TxHash, error) {
	var h TxHash
	b, err := hex.DecodeString(s)
	if err != nil {
		return h, fmt.Errorf("tx hash: %w", err)
	}
	if len(b) != len(h) {
		return h, fmt.Errorf("tx hash: got %d bytes, want %d", len(b), len(h))
	}
	copy(h[:], b)
	return h, nil
}
