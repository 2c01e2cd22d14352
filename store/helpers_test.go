package store

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/types"
	"github.com/bftkit/bftkit/types/typestest"
)

// chain is a committed chain of n small blocks, linked by parent ID and
// justify QC, each with a distinct proof, so a round trip exercises every
// block field.
func chain(n int) []types.CommittedBlock {
	out := make([]types.CommittedBlock, n)
	var parent types.BlockID
	for i := range out {
		h := uint64(i + 1)
		b := typestest.Block(h, 3, 32)
		b.ParentID = parent
		b.ParentAppHash = bytes.Repeat([]byte{byte(h)}, 32)
		if h > 1 {
			b.Justify = &types.QuorumCert{View: h - 1, BlockID: parent, Signers: []byte{0x07}, Signature: bytes.Repeat([]byte{0xaa}, 96)}
		}
		id := b.ID()
		out[i] = types.CommittedBlock{ID: id, Block: b, Proof: fmt.Appendf(nil, "proof-%d", h)}
		parent = id
	}
	return out
}

// fork is a block at height that is not on the chain: tag makes distinct
// forks at the same height.
func fork(height uint64, tag int) *types.Block {
	b := typestest.Block(height, 2, 16)
	b.View = height + 1000*uint64(tag)
	return b
}

func blocksOf(cbs []types.CommittedBlock) []*types.Block {
	out := make([]*types.Block, len(cbs))
	for i, cb := range cbs {
		out[i] = cb.Block
	}
	return out
}

func openStore(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{})
	require.NoError(t, err)
	return s
}

// dump is every key and value in the database, for checking that a failed
// Persist wrote nothing.
func dump(t *testing.T, s *Store) map[string]string {
	t.Helper()
	out := make(map[string]string)
	it := s.db.NewIterator(nil, nil)
	defer it.Release()
	for it.Next() {
		out[string(it.Key())] = string(it.Value())
	}
	require.NoError(t, it.Error())
	return out
}

// pendingKeys is the pending index as "height/id-prefix" strings, and
// checks that the block table holds exactly the indexed blocks.
func pendingKeys(t *testing.T, s *Store) []string {
	t.Helper()
	var out []string
	blocks := 0
	it := s.db.NewIterator(nil, nil)
	defer it.Release()
	for it.Next() {
		switch it.Key()[0] {
		case prefixPending:
			h, id, ok := parsePendingKey(it.Key())
			require.True(t, ok)
			out = append(out, fmt.Sprintf("%d/%s", h, id))
		case prefixBlock:
			blocks++
		}
	}
	require.NoError(t, it.Error())
	require.Equal(t, len(out), blocks, "pending index and block table disagree")
	return out
}

func pendingKeyOf(b *types.Block) string { return fmt.Sprintf("%d/%s", b.Height, b.ID()) }
