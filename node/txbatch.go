package node

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/bftkit/bftkit/types"
)

// Transaction batches travel between mempools on their own gossip topic.
// A batch is a version byte and then, per transaction, its uvarint length
// and bytes. Batches are not consensus messages: nobody signs them (a
// transaction is only a request; consensus decides what is in a block),
// so a simple format that is bounded on decode is enough.
const (
	txBatchVersion = 1
	// maxBatchTxs bounds one batch's transactions.
	maxBatchTxs = 10_000
	// maxBatchBytes bounds one encoded batch.
	maxBatchBytes = 4 << 20
)

// EncodeTxBatch encodes txs as a batch, the body of POST /txs and of a
// transaction-gossip message. Keep a batch within 10,000 transactions and
// 4 MiB; the receiver refuses larger ones.
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

// decodeTxBatch decodes a batch from a peer, refusing anything over the
// limits before allocating for it.
func decodeTxBatch(data []byte) ([][]byte, error) {
	if len(data) > maxBatchBytes {
		return nil, fmt.Errorf("tx batch of %d bytes exceeds the limit of %d", len(data), maxBatchBytes)
	}
	if len(data) == 0 || data[0] != txBatchVersion {
		return nil, errors.New("tx batch: unknown version")
	}
	rest := data[1:]
	var txs [][]byte
	for len(rest) > 0 {
		if len(txs) == maxBatchTxs {
			return nil, fmt.Errorf("tx batch: more than %d transactions", maxBatchTxs)
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
