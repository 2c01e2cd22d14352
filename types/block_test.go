package types_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/types"
	"github.com/bftkit/bftkit/types/typestest"
)

func TestBlockIDCommitsToEveryField(t *testing.T) {
	fx := typestest.Validators(4, 1)
	base := func() *types.Block {
		b := typestest.Block(5, 3, 10)
		b.ParentID = types.BlockID{1}
		b.ParentAppHash = []byte{9}
		b.Justify = fx.QC(4, types.BlockID{1}, 0, 1, 2)
		return b
	}
	id := base().ID()
	require.Equal(t, id, base().ID(), "the ID is deterministic")
	edits := map[string]func(b *types.Block){
		"height":          func(b *types.Block) { b.Height++ },
		"view":            func(b *types.Block) { b.View++ },
		"parent":          func(b *types.Block) { b.ParentID[0]++ },
		"proposer":        func(b *types.Block) { b.Proposer++ },
		"tx content":      func(b *types.Block) { b.Txs[1][0]++ },
		"tx order":        func(b *types.Block) { b.Txs[0], b.Txs[1] = b.Txs[1], b.Txs[0] },
		"tx dropped":      func(b *types.Block) { b.Txs = b.Txs[:2] },
		"parent app hash": func(b *types.Block) { b.ParentAppHash = []byte{8} },
		"justify view":    func(b *types.Block) { b.Justify.View++ },
		"justify signers": func(b *types.Block) { b.Justify.Signers = fx.Bitmap(0, 1, 3) },
		"justify removed": func(b *types.Block) { b.Justify = nil },
	}
	for name, edit := range edits {
		b := base()
		edit(b)
		require.NotEqual(t, id, b.ID(), "changing the %s must change the ID", name)
	}
}

func TestBlockValidateBasicLimits(t *testing.T) {
	require.NoError(t, typestest.Block(1, 10, 100).ValidateBasic())
	require.ErrorContains(t, typestest.Block(0, 1, 10).ValidateBasic(), "height")
	b := typestest.Block(1, 2, 10)
	b.Txs[1] = nil
	require.ErrorContains(t, b.ValidateBasic(), "txs[1] is empty")
	b = typestest.Block(1, 1, types.MaxTxBytes+1)
	require.ErrorContains(t, b.ValidateBasic(), "txs[0] is")
	b = typestest.Block(1, types.MaxBlockTxs+1, 1)
	require.ErrorContains(t, b.ValidateBasic(), "exceeds the limit")
	b = typestest.Block(1, 1, 1)
	b.ParentAppHash = make([]byte, types.MaxAppHashBytes+1)
	require.ErrorContains(t, b.ValidateBasic(), "parent_app_hash")
	var nilBlock *types.Block
	require.Error(t, nilBlock.ValidateBasic())
}

// Hashing must not panic on a block that was never validated, however
// large its fields (found by FuzzBlockUnmarshal's review).
func TestBlockIDOfUnvalidatedOversizedBlock(t *testing.T) {
	b := typestest.Block(1, 1, 10)
	b.ParentAppHash = make([]byte, 1<<20+1)
	require.NotPanics(t, func() { b.ID() })
	require.Error(t, b.ValidateBasic())
}
