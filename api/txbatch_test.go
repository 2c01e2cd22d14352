package api

import (
	"bytes"
	"testing"

	"github.com/bftkit/bftkit/types"
	"github.com/stretchr/testify/require"
)

func TestTxBatchRoundTripAndLimits(t *testing.T) {
	txs := [][]byte{[]byte("a=1"), bytes.Repeat([]byte("x"), 300), []byte("z")}
	got, err := DecodeTxBatch(EncodeTxBatch(txs))
	require.NoError(t, err)
	require.Equal(t, txs, got)

	for name, data := range map[string][]byte{
		"empty":          {},
		"no txs":         {txBatchVersion},
		"bad version":    append([]byte{9}, EncodeTxBatch(txs)[1:]...),
		"truncated":      EncodeTxBatch(txs)[:10],
		"zero-length tx": {txBatchVersion, 0},
		"oversized tx":   EncodeTxBatch([][]byte{make([]byte, types.MaxTxBytes+1)}),
		"too large":      make([]byte, MaxBatchBytes+1),
	} {
		_, err := DecodeTxBatch(data)
		require.Error(t, err, name)
	}
}

// FuzzDecodeTxBatch: batches come from any peer on the gossip topic and
// from HTTP clients; decoding must never panic, and what decodes must
// survive a re-encoding unchanged.
func FuzzDecodeTxBatch(f *testing.F) {
	f.Add(EncodeTxBatch([][]byte{[]byte("a=1"), []byte("b=2")}))
	f.Add([]byte{txBatchVersion, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		txs, err := DecodeTxBatch(data)
		if err != nil {
			return
		}
		again, err := DecodeTxBatch(EncodeTxBatch(txs))
		require.NoError(t, err)
		require.Equal(t, txs, again)
	})
}
