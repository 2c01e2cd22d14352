package store

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzDecodeCommitted: no input read from disk panics the decoder, and
// whatever decodes is a block at the key's height that hashes to its ID.
func FuzzDecodeCommitted(f *testing.F) {
	rec, err := encodeCommitted(chain(2)[1])
	require.NoError(f, err)
	f.Add(rec)
	f.Add(rec[:len(rec)/2])
	f.Add(rec[:idLen+1])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		key := committedKey(2)
		cb, err := decodeCommitted(key, data, 2)
		if err != nil {
			require.ErrorIs(t, err, ErrCorrupt)
			require.Contains(t, err.Error(), "committed/2")
			return
		}
		require.Equal(t, uint64(2), cb.Block.Height)
		require.Equal(t, cb.ID, cb.Block.ID())
	})
}
