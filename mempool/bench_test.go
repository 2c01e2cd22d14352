package mempool

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/bftkit/bftkit/app"
)

// BenchmarkAdd admits distinct 100-byte txs (hash, checks, copy, indexes)
// with a CheckTx that accepts everything, so it measures the mempool alone.
func BenchmarkAdd(b *testing.B) {
	cfg := DefaultConfig()
	m := newTestMempool(b, cfg, app.BaseApplication{})
	ctx := context.Background()
	tx := make([]byte, 100)
	b.ReportAllocs()
	b.SetBytes(int64(len(tx)))
	for i := 0; b.Loop(); i++ {
		if i > 0 && i%cfg.MaxTxs == 0 { // full: start over, off the clock
			b.StopTimer()
			m = newTestMempool(b, cfg, app.BaseApplication{})
			b.StartTimer()
		}
		binary.BigEndian.PutUint64(tx, uint64(i))
		if _, err := m.Add(ctx, tx, Local); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReap reaps a 5000-tx proposal from a mempool of 20 000 100-byte
// txs whose first 4000 are marked as in an uncommitted proposal, as a
// pipelined leader does.
func BenchmarkReap(b *testing.B) {
	m := newTestMempool(b, DefaultConfig(), app.BaseApplication{})
	ctx := context.Background()
	var marked [][]byte
	for i := range 20_000 {
		tx := make([]byte, 100)
		binary.BigEndian.PutUint64(tx, uint64(i))
		if _, err := m.Add(ctx, tx, Peer); err != nil {
			b.Fatal(err)
		}
		if i < 4000 {
			marked = append(marked, tx)
		}
	}
	m.MarkProposed(1, marked)
	b.ReportAllocs()
	for b.Loop() {
		if txs := m.Reap(5000, 1<<20); len(txs) != 5000 {
			b.Fatalf("reaped %d", len(txs))
		}
	}
}
