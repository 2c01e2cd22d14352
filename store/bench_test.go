package store

import (
	"fmt"
	"testing"

	"github.com/bftkit/bftkit/types"
	"github.com/bftkit/bftkit/types/typestest"
)

// benchTemplate is a block of 1000 transactions of 100 bytes; benchmark
// blocks share its transactions and differ in height, hence in ID.
var benchTemplate = typestest.Block(1, 1000, 100)

func benchBlock(h uint64) *types.Block {
	b := benchTemplate.Copy()
	b.Height, b.View = h, h
	return b
}

var benchSafety = make([]byte, 256) // about a HotStuff safety state with two QCs

// BenchmarkPersist measures the durability point on the node's critical
// path: nothing of a Ready leaves before Persist returns. Every operation
// is one fsync; the rest is encoding, hashing (Persist computes or checks
// each block's ID) and LevelDB's own work.
func BenchmarkPersist(b *testing.B) {
	b.Run("safety-only", func(b *testing.B) {
		s := openStore(b, b.TempDir())
		defer s.Close()
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Persist(Batch{SafetyState: benchSafety}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, n := range []int{1, 10} {
		// A Ready that votes: safety state and n new blocks to keep.
		b.Run(fmt.Sprintf("pending/blocks=%d", n), func(b *testing.B) {
			s := openStore(b, b.TempDir())
			defer s.Close()
			size := benchTemplate.Size()
			b.SetBytes(int64(n * size))
			b.ReportAllocs()
			h := uint64(1)
			for b.Loop() {
				blocks := make([]*types.Block, n)
				for k := range blocks {
					blocks[k] = benchBlock(h)
					h++
				}
				if err := s.Persist(Batch{SafetyState: benchSafety, Blocks: blocks}); err != nil {
					b.Fatal(err)
				}
			}
		})
		// A Ready that commits n blocks, which were pending before (the
		// commit also removes them from the pending tables).
		b.Run(fmt.Sprintf("commit/blocks=%d", n), func(b *testing.B) {
			s := openStore(b, b.TempDir())
			defer s.Close()
			b.SetBytes(int64(n * benchTemplate.Size()))
			b.ReportAllocs()
			h := uint64(0)
			for b.Loop() {
				b.StopTimer()
				cbs := make([]types.CommittedBlock, n)
				blocks := make([]*types.Block, n)
				for k := range cbs {
					blk := benchBlock(h + 1 + uint64(k))
					cbs[k] = types.CommittedBlock{ID: blk.ID(), Block: blk, Proof: benchSafety[:150]}
					blocks[k] = blk
				}
				if err := s.Persist(Batch{Blocks: blocks}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := s.Persist(Batch{SafetyState: benchSafety, Committed: cbs}); err != nil {
					b.Fatal(err)
				}
				h += uint64(n)
			}
		})
	}
	// HotStuff's steady state: each Ready keeps the new block and commits
	// the one three heights back, which it had kept before.
	b.Run("steady/keep=1,commit=1", func(b *testing.B) {
		s := openStore(b, b.TempDir())
		defer s.Close()
		b.SetBytes(int64(2 * benchTemplate.Size()))
		b.ReportAllocs()
		if err := s.Persist(Batch{Blocks: []*types.Block{benchBlock(1), benchBlock(2), benchBlock(3)}}); err != nil {
			b.Fatal(err)
		}
		h := uint64(1)
		for b.Loop() {
			blk := benchBlock(h)
			cb := types.CommittedBlock{ID: blk.ID(), Block: blk, Proof: benchSafety[:150]}
			if err := s.Persist(Batch{SafetyState: benchSafety, Blocks: []*types.Block{benchBlock(h + 3)}, Committed: []types.CommittedBlock{cb}}); err != nil {
				b.Fatal(err)
			}
			h++
		}
	})
}
