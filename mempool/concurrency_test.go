package mempool

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/app"
)

// hashChecker rejects by content, deterministically and without state, so
// it is safe from any goroutine: 1 tx in 13 on admission, 1 in 7 on recheck.
type hashChecker struct{}

func (hashChecker) CheckTx(_ context.Context, req app.CheckTxRequest) (app.CheckTxResponse, error) {
	h := HashTx(req.Tx)
	if h[0]%13 == 0 || (req.Recheck && h[1]%7 == 0) {
		return app.CheckTxResponse{Code: 1}, nil
	}
	return app.CheckTxResponse{}, nil
}

// Every operation at once from many goroutines, for the race detector and
// for the invariants afterwards: the indexes agree, nothing accepted is
// unaccounted for, each local tx is gossiped at most once, never a peer
// one, and no outcome contradicts another.
func TestConcurrentUse(t *testing.T) {
	cfg := testConfig()
	cfg.MaxTxs, cfg.MaxRecheckPerUpdate, cfg.TTLHeights, cfg.MaxSubscribers = 150, 40, 6, 8
	cfg.OutcomeCacheSize = 1 << 20
	m := newTestMempool(t, cfg, hashChecker{})
	ctx := context.Background()
	const adders, addsEach, updates = 4, 400, 120

	var height atomic.Uint64 // last committed height
	var mu sync.Mutex
	accepted := make(map[TxHash]int)      // acceptances
	acceptedLocal := make(map[TxHash]int) // acceptances as Local
	var wg sync.WaitGroup
	stop := make(chan struct{})

	for a := range adders {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(a), 1))
			for range addsEach {
				id := rng.IntN(adders * addsEach / 2) // shared ids: concurrent duplicates
				tx := make([]byte, 8+id%60)
				binary.BigEndian.PutUint64(tx, uint64(id))
				src := Source(1 + rng.IntN(2))
				if h, err := m.Add(ctx, tx, src); err == nil {
					mu.Lock()
					accepted[h]++
					if src == Local {
						acceptedLocal[h]++
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Go(func() { // a proposer: reap and mark, one or two heights ahead
		for {
			select {
			case <-stop:
				return
			default:
			}
			txs := m.Reap(10, 500)
			m.MarkProposed(height.Load()+1+uint64(len(txs)%2), txs)
			time.Sleep(100 * time.Microsecond)
		}
	})
	gossiped := make(map[TxHash]int)
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, tx := range m.NextGossipBatch() {
				gossiped[HashTx(tx)]++
			}
			time.Sleep(50 * time.Microsecond)
		}
	})
	for range 2 {
		wg.Go(func() { // HTTP clients waiting for their tx, giving up quickly
			for {
				select {
				case <-stop:
					return
				default:
				}
				var h TxHash
				mu.Lock()
				for k := range accepted {
					h = k
					break
				}
				mu.Unlock()
				ch, cancel, err := m.Subscribe(h)
				if err != nil {
					assert.ErrorIs(t, err, ErrTooManySubscribers)
					continue
				}
				select {
				case o := <-ch:
					assert.NotEqual(t, Pending, o.Status)
				case <-time.After(time.Millisecond):
				}
				cancel()
				_, _ = m.Size()
				_ = m.Stats()
			}
		})
	}
	var updater sync.WaitGroup
	updater.Go(func() { // the committer: blocks of some reapable and some marked txs
		for range updates {
			h := height.Load() + 1
			block := m.Reap(5, -1)
			m.mu.Lock()
			for _, e := range m.marks[h] {
				if e != nil { // nil marks a proposed tx this mempool does not hold
					block = append(block, e.tx)
				}
			}
			m.mu.Unlock()
			assert.NoError(t, m.Update(ctx, h, block))
			height.Store(h)
			time.Sleep(200 * time.Microsecond)
		}
	})
	updater.Wait()
	close(stop)
	wg.Wait()

	checkInvariants(t, m)
	requireConservation(t, m, "after the run")
	require.Zero(t, m.nsubs, "every subscriber cancelled")
	st := m.Stats()
	t.Logf("%+v", st)
	require.NotZero(t, st.Committed)
	total := 0
	for h, k := range accepted {
		total += k
		o, ok := m.Status(h)
		require.True(t, ok, "accepted tx %s vanished", h)
		if o.Status == Dropped {
			require.NotEqual(t, NoReason, o.Reason)
		}
	}
	require.Equal(t, uint64(total), st.Accepted)
	require.NotEmpty(t, gossiped)
	for h, k := range gossiped {
		require.LessOrEqual(t, k, acceptedLocal[h], "tx %s gossiped more often than accepted as Local", h)
	}
}
