package api

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/bftkit/bftkit/types"
)

// A transaction batch is the body of POST /txs, and also what validators'
// mempools gossip to each other: a version byte and then, per transaction,
// its uvarint length and bytes. Nobody signs a batch (a transaction is
// only a request; consensus decides what is in a block), so a simple
// format that is bounded on decode is enough.
const (
	txBatchVersion = 1
	// MaxBatchTxs bounds one batch's transactions.
	MaxBatchTxs = 10_000
	// MaxBatchBytes bounds one encoded batch.
	MaxBatchBytes = 4 << 20
)

// EncodeTxBatch encodes txs as a batch. Keep a batch within MaxBatchTxs
// transactions and MaxBatchBytes encoded; the receiver refuses larger ones.
func EncodeTxBatch(txs [][]byte) []byte {
	size := 1
	for _, tx := range txs {
		size += binary.MaxVarintLen32 + len(tx)
	}
	out := make([]byte, 1, size)
	out[0] = txBatchVersion
	for _, tx := range txs {
		out = binary.AppendUvarint(out, uint64(len(tx)))
		out = append(out, tx...)
	}
	return out
}

// DecodeTxBatch decodes a batch from an untrusted sender, refusing
// anything over the limits (MaxBatchBytes, MaxBatchTxs, types.MaxTxBytes
// per transaction) before allocating for it, and empty batches or
// transactions. The transactions alias data.
func DecodeTxBatch(data []byte) ([][]byte, error) {
	if len(data) > MaxBatchBytes {
		return nil, fmt.Errorf("tx batch of %d bytes exceeds the limit of %d", len(data), MaxBatchBytes)
	}
	if len(data) == 0 || data[0] != txBatchVersion {
		return nil, errors.New("tx batch: unknown version")
	}
	rest := data[1:]
	var txs [][]byte
	for len(rest) > 0 {
		if len(txs) == MaxBatchTxs {
			return nil, fmt.Errorf("tx batch: more than %d transactions", MaxBatchTxs)
		}
		n, k := binary.Uvarint(rest)
		if k <= 0 {
			return nil, errors.New("tx batch: bad length prefix")
		}
		rest = rest[k:]
		if n == 0 || n > types.MaxTxBytes || n > uint64(len(rest)) {
			return nil, fmt.Errorf("tx batch: transaction of %d bytes (limit %d, %d left)", n, types.MaxTxBytes, len(rest))
		}
		txs = append(txs, rest[:n:n])
		rest = rest[n:]
	}
	if len(txs) == 0 {
		return nil, errors.New("tx batch: empty")
	}
	return txs, nil
}
