package types_test

import (
	"testing"

	"github.com/bftkit/bftkit/crypto"
	"github.com/bftkit/bftkit/types"
	"github.com/bftkit/bftkit/types/typestest"
)

// benchBlock is a HotStuff block of 1,000 transactions of 100 bytes with a
// justify QC from the 4-validator fixture.
func benchBlock() *types.Block {
	fx := typestest.Validators(4, 1)
	parent := typestest.Block(1, 1, 100)
	block := typestest.Block(2, 1000, 100)
	block.ParentID = parent.ID()
	block.ParentAppHash = make([]byte, crypto.HashSize)
	block.Justify = fx.QC(1, parent.ID(), 0, 1, 2)
	return block
}

// BenchmarkBlockID is a block's first ID: the Merkle root and the header
// hash. Each iteration drops the ID the block carries, so that it is
// hashed again.
func BenchmarkBlockID(b *testing.B) {
	block := benchBlock()
	b.SetBytes(1000 * 100)
	b.ReportAllocs()
	for b.Loop() {
		block.ForgetID()
		block.ID()
	}
}

// BenchmarkBlockIDAgain is the same block's ID asked for again: the ID
// the block carries.
func BenchmarkBlockIDAgain(b *testing.B) {
	block := benchBlock()
	block.ID()
	b.SetBytes(1000 * 100)
	b.ReportAllocs()
	for b.Loop() {
		block.ID()
	}
}

// BenchmarkBlockIDWayThrough is a new block (as decoded) asked for its ID
// as on its way through a node: by the gateway's signature check, the
// application's ProcessProposal, the engine and the store.
func BenchmarkBlockIDWayThrough(b *testing.B) {
	t := benchBlock()
	b.SetBytes(1000 * 100)
	b.ReportAllocs()
	view := t.View
	for b.Loop() {
		view++ // another block each time, as blocks arrive
		block := &types.Block{Height: t.Height, View: view, ParentID: t.ParentID, Justify: t.Justify,
			Proposer: t.Proposer, Txs: t.Txs, ParentAppHash: t.ParentAppHash}
		for range 4 {
			block.ID()
		}
	}
}

func benchVote() types.Message {
	fx := typestest.Validators(4, 1)
	id := typestest.Block(2, 1, 8).ID()
	sig := crypto.Sign(fx.Keys[2], types.VoteSignBytes(typestest.ChainID, 2, id))
	return types.Message{From: 2, To: 3, Payload: &types.Vote{View: 2, BlockID: id, Voter: 2, Signature: sig.Bytes()}}
}

func benchProposal() types.Message {
	fx := typestest.Validators(4, 1)
	block := benchBlock()
	block.Proposer = 2
	sig := crypto.Sign(fx.Keys[2], types.ProposalSignBytes(typestest.ChainID, block.View, block.ID()))
	return types.Message{From: 2, Broadcast: true, Payload: &types.Proposal{Block: block, Signature: sig.Bytes()}}
}

func benchEncode(b *testing.B, m types.Message) {
	data, err := types.EncodeMessage(m)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := types.EncodeMessage(m); err != nil {
			b.Fatal(err)
		}
	}
}

func benchDecode(b *testing.B, m types.Message) {
	data, err := types.EncodeMessage(m)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := types.DecodeMessage(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeVote(b *testing.B)  { benchEncode(b, benchVote()) }
func BenchmarkDecodeVote(b *testing.B)  { benchDecode(b, benchVote()) }
func BenchmarkEncodeBlock(b *testing.B) { benchEncode(b, benchProposal()) }
func BenchmarkDecodeBlock(b *testing.B) { benchDecode(b, benchProposal()) }
