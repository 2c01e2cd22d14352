package types

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func memoTestBlock() *Block {
	return &Block{
		Height: 7, View: 9, ParentID: BlockID{1}, Proposer: 2,
		Txs:           []Tx{[]byte("a=1"), []byte("b=2"), []byte("c=3")},
		ParentAppHash: bytes.Repeat([]byte{5}, 32),
		Justify:       &QuorumCert{View: 8, BlockID: BlockID{1}, Signers: []byte{0x07}, Signature: bytes.Repeat([]byte{0xaa}, 96)},
	}
}

// The memo must never answer for contents other than those it hashed:
// every field the ID covers, changed in place after an ID was taken,
// gives the new contents' ID. A field the fingerprint forgot fails here.
func TestBlockIDFollowsChangesInPlace(t *testing.T) {
	changes := map[string]func(b *Block){
		"height":          func(b *Block) { b.Height++ },
		"view":            func(b *Block) { b.View++ },
		"parent":          func(b *Block) { b.ParentID[0]++ },
		"proposer":        func(b *Block) { b.Proposer++ },
		"parent app hash": func(b *Block) { b.ParentAppHash[0]++ },
		"tx byte":         func(b *Block) { b.Txs[1][0]++ },
		"tx appended":     func(b *Block) { b.Txs = append(b.Txs, []byte("d=4")) },
		"tx dropped":      func(b *Block) { b.Txs = b.Txs[:2] },
		"txs re-split":    func(b *Block) { b.Txs[0], b.Txs[1] = []byte("a=1b"), []byte("=2") },
		"justify removed": func(b *Block) { b.Justify = nil },
		"justify view":    func(b *Block) { b.Justify.View++ },
		"justify block":   func(b *Block) { b.Justify.BlockID[0]++ },
		"justify signers": func(b *Block) { b.Justify.Signers[0] = 0x0b },
		"justify sig":     func(b *Block) { b.Justify.Signature[0]++ },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			b := memoTestBlock()
			before := b.ID()
			require.Equal(t, b.computeID(), before)
			change(b)
			after := b.ID()
			require.Equal(t, b.computeID(), after, "the ID of the changed contents")
			require.NotEqual(t, before, after)
		})
	}
}

func TestBlockIDOfACopy(t *testing.T) {
	b := memoTestBlock()
	id := b.ID()
	c := *b // shares the transactions' backing array
	c.Height++
	require.NotEqual(t, id, c.ID())
	require.Equal(t, c.computeID(), c.ID())
	require.Equal(t, id, b.ID(), "the original is unchanged")
}

// Blocks decoded from the same bytes are equal and have equal IDs, at any
// address.
func TestBlockIDOfEqualBlocks(t *testing.T) {
	data, err := memoTestBlock().Marshal()
	require.NoError(t, err)
	for range 3 {
		var b Block
		require.NoError(t, b.Unmarshal(data))
		require.Equal(t, memoTestBlock().computeID(), b.ID())
	}
}
