package types

import (
	"bytes"
	"encoding/json"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func idTestBlock() *Block {
	return &Block{
		Height: 7, View: 9, ParentID: BlockID{1}, Proposer: 2,
		Txs:           []Tx{[]byte("a=1"), []byte("b=2"), []byte("c=3")},
		ParentAppHash: bytes.Repeat([]byte{5}, 32),
		Justify:       &QuorumCert{View: 8, BlockID: BlockID{1}, Signers: []byte{0x07}, Signature: bytes.Repeat([]byte{0xaa}, 96)},
	}
}

// hashes counts the blocks hashed while f runs. Tests that use it must
// not run in parallel with other tests of this package.
func hashes(f func()) uint64 {
	before := idHashes.Load()
	f()
	return idHashes.Load() - before
}

// A block is hashed once: the first ID hashes it, and every later call,
// from any goroutine, returns the ID it carries.
func TestBlockIsHashedOnce(t *testing.T) {
	b := idTestBlock()
	want := b.computeID()
	n := hashes(func() {
		for range 5 {
			require.Equal(t, want, b.ID())
		}
	})
	require.EqualValues(t, 1, n)
}

// Goroutines racing for a block's first ID all get it, and it is hashed
// once (run with -race: the first computation is guarded).
func TestBlockIDFirstCallsRace(t *testing.T) {
	b := idTestBlock()
	want := b.computeID()
	var wg sync.WaitGroup
	n := hashes(func() {
		for range 8 {
			wg.Go(func() {
				for range 3 {
					if got := b.ID(); got != want {
						t.Errorf("got %s, want %s", got.Hex(), want.Hex())
					}
				}
			})
		}
		wg.Wait()
	})
	require.EqualValues(t, 1, n)
}

// A block decoded from the wire has the ID of the block that was sent, and
// on its way through a node (the gateway's signature check, the
// application, the engine, the store) it is hashed once.
func TestDecodedBlockHasTheOriginalsID(t *testing.T) {
	orig := idTestBlock()
	want := orig.ID()
	sent := Message{From: 2, Broadcast: true, Payload: &Proposal{Block: orig, Signature: bytes.Repeat([]byte{1}, 96)}}
	data, err := EncodeMessage(sent)
	require.NoError(t, err)
	var got *Block
	n := hashes(func() {
		m, err := DecodeMessage(data)
		require.NoError(t, err)
		got = m.Payload.(*Proposal).Block
		require.NotSame(t, orig, got)
		for range 4 {
			require.Equal(t, want, got.ID())
		}
	})
	require.EqualValues(t, 1, n)

	// The same through the block's own encoding, as the store reads it.
	raw, err := orig.Marshal()
	require.NoError(t, err)
	var b Block
	require.NoError(t, b.Unmarshal(raw))
	require.Equal(t, want, b.ID())
	require.True(t, b.Equal(orig))
}

// Unmarshal and Reset give a block new contents, so they drop its ID.
func TestUnmarshalAndResetForgetTheID(t *testing.T) {
	b := idTestBlock()
	old := b.ID()
	other := idTestBlock()
	other.Height++
	data, err := other.Marshal()
	require.NoError(t, err)
	b.Reset()
	require.NotEqual(t, old, b.ID())
	require.Equal(t, (&Block{}).computeID(), b.ID())
	require.NoError(t, b.Unmarshal(data))
	require.Equal(t, other.ID(), b.ID())

	// Unmarshal merges into a block that is not empty (a gogoproto rule);
	// the ID is then that of the merged contents.
	c := idTestBlock()
	c.ID()
	require.NoError(t, c.Unmarshal(data))
	require.Equal(t, c.computeID(), c.ID())
	require.NotEqual(t, old, c.ID())
}

// A block keeps the ID it carries: a change in place after the ID was
// taken (which the node never makes) is seen only after ForgetID. Every
// field the ID covers is changed here.
func TestBlockIDAfterChangesInPlace(t *testing.T) {
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
			b := idTestBlock()
			before := b.ID()
			change(b)
			require.Equal(t, before, b.ID(), "the block carries the ID it was given")
			b.ForgetID()
			after := b.ID()
			require.Equal(t, b.computeID(), after, "the ID of the changed contents")
			require.NotEqual(t, before, after)
		})
	}
}

// Copy is how to derive another block: it carries no ID, so the copy's is
// its own, and the original keeps its own.
func TestBlockCopy(t *testing.T) {
	b := idTestBlock()
	id := b.ID()
	c := b.Copy()
	require.True(t, c.Equal(b))
	require.Equal(t, id, c.ID())
	c = b.Copy()
	c.Height++
	require.NotEqual(t, id, c.ID())
	require.Equal(t, c.computeID(), c.ID())
	require.Equal(t, id, b.ID(), "the original is unchanged")
}

// Equal compares contents, whether or not either block carries its ID.
func TestBlockEqualIgnoresTheCarriedID(t *testing.T) {
	a, b := idTestBlock(), idTestBlock()
	require.True(t, a.Equal(b))
	a.ID()
	require.True(t, a.Equal(b))
	require.True(t, b.Equal(a))
	b.Height++
	require.False(t, a.Equal(b))
	var nilBlock *Block
	require.True(t, nilBlock.Equal(nil))
	require.True(t, nilBlock.Equal(nilBlock))
	require.False(t, a.Equal(nilBlock))
	require.False(t, nilBlock.Equal(a))
	require.False(t, a.Equal(&QuorumCert{}))
	// Messages that hold blocks compare through it.
	require.True(t, (&Proposal{Block: a}).Equal(&Proposal{Block: idTestBlock()}))
}

// The ID is neither on the wire nor in JSON: a block that carries one
// encodes as one that does not.
func TestCarriedIDIsNotEncoded(t *testing.T) {
	a, b := idTestBlock(), idTestBlock()
	a.ID()
	da, err := a.Marshal()
	require.NoError(t, err)
	db, err := b.Marshal()
	require.NoError(t, err)
	require.Equal(t, db, da)
	require.Equal(t, b.Size(), a.Size())
	require.Equal(t, b.String(), a.String())
	ja, err := json.Marshal(a)
	require.NoError(t, err)
	jb, err := json.Marshal(b)
	require.NoError(t, err)
	require.JSONEq(t, string(jb), string(ja))
}
