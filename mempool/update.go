package mempool

import (
	"context"
	"fmt"

	"github.com/bftkit/bftkit/app"
)

// Update applies one committed block; call it once per block, in height
// order. Under the lock it
//
//  1. removes the block's txs, recording Committed{height} for every one
//     of them, pending or not: a tx committed through another node's
//     proposal must not be re-admitted when its gossip arrives late;
//  2. releases the marks at heights ≤ height: those proposals either
//     committed (their txs were just removed) or were abandoned;
//  3. drops the txs Config.TTLHeights blocks old (not those marked, which
//     may still commit in the next block).
//
// Then, without the lock, it rechecks up to Config.MaxRecheckPerUpdate
// pending txs with CheckTx{Recheck: true}, round-robin over successive
// Updates, and drops those the new state rejects. Marked txs are skipped:
// their proposal may still commit them.
//
// A height not above the last Update's returns ErrHeightOrder and changes
// nothing. Any other error comes from the recheck (CheckTx failed or ctx
// ended): the block was applied, and the txs not rechecked wait for their
// next turn; no tx is dropped because the application was unreachable.
func (m *Mempool) Update(ctx context.Context, height uint64, txs [][]byte) error {
	hashes := hashAll(txs)
	m.updateMu.Lock()
	defer m.updateMu.Unlock()

	m.mu.Lock()
	if m.updated && height <= m.height {
		last := m.height
		m.mu.Unlock()
		return fmt.Errorf("%w: height %d after %d", ErrHeightOrder, height, last)
	}
	m.updated, m.height = true, height
	m.updates++
	m.commitLocked(height, hashes)
	m.releaseLocked(height)
	m.expireLocked(height)
	m.regossipLocked()
	batch := m.recheckBatchLocked()
	m.mu.Unlock()

	return m.recheck(ctx, height, batch)
}

func (m *Mempool) commitLocked(height uint64, hashes []TxHash) {
	committed := Outcome{Status: Committed, Height: height}
	for _, h := range hashes {
		if e := m.pending[h]; e != nil {
			m.removeLocked(e)
			m.stats.Committed++
		} else if o, ok := m.outcomes.get(h); ok && o == committed {
			continue // repeated in the block: keep one cache slot
		}
		m.finalize(h, committed)
	}
}

// expireLocked walks from the oldest tx: admission order is addedAt order,
// so it stops at the first tx that is young enough.
func (m *Mempool) expireLocked(height uint64) {
	ttl := m.cfg.TTLHeights
	if ttl == 0 {
		return
	}
	for el := m.order.Front(); el != nil; {
		e := el.Value.(*entry)
		el = el.Next()
		if m.updates-e.addedAt < ttl {
			break
		}
		if !e.marked {
			m.dropLocked(e, height, DropExpired, fmt.Sprintf("not committed within %d blocks", ttl))
		}
	}
}

// recheckBatchLocked takes the next MaxRecheckPerUpdate unmarked txs from
// the round-robin cursor, visiting each pending tx at most once.
func (m *Mempool) recheckBatchLocked() []*entry {
	var batch []*entry
	el := m.recheckNext
	for visited := 0; visited < len(m.pending) && len(batch) < m.cfg.MaxRecheckPerUpdate; visited++ {
		if el == nil {
			el = m.order.Front()
		}
		if e := el.Value.(*entry); !e.marked {
			batch = append(batch, e)
		}
		el = el.Next()
	}
	m.recheckNext = el
	return batch
}

type rejection struct {
	e    *entry
	resp app.CheckTxResponse
}

// recheck runs CheckTx{Recheck} on batch without the lock, then drops the
// rejected txs that are still pending and unmarked.
func (m *Mempool) recheck(ctx context.Context, height uint64, batch []*entry) error {
	var rejected []rejection
	var err error
	done := 0
	for _, e := range batch {
		if err = ctx.Err(); err != nil {
			break
		}
		resp, cerr := m.checker.CheckTx(ctx, app.CheckTxRequest{Tx: e.tx, Recheck: true})
		if cerr != nil {
			err = cerr
			break
		}
		done++
		if !resp.IsOK() {
			rejected = append(rejected, rejection{e, resp})
		}
	}

	m.mu.Lock()
	for _, r := range rejected {
		if m.pending[r.e.hash] != r.e || r.e.marked {
			continue // no longer pending, or in a proposal now
		}
		detail := fmt.Sprintf("code %d", r.resp.Code)
		if r.resp.Log != "" {
			detail += ": " + r.resp.Log
		}
		m.dropLocked(r.e, height, DropRecheck, detail)
	}
	m.mu.Unlock()

	if err != nil {
		return fmt.Errorf("mempool: recheck at height %d stopped after %d of %d txs: %w", height, done, len(batch), err)
	}
	return nil
}

// dropLocked removes e and records why.
func (m *Mempool) dropLocked(e *entry, height uint64, reason DropReason, detail string) {
	m.removeLocked(e)
	switch reason {
	case DropRecheck:
		m.stats.Dropped.Recheck++
	case DropExpired:
		m.stats.Dropped.Expired++
	}
	m.finalize(e.hash, Outcome{Status: Dropped, Height: height, Reason: reason, Detail: detail})
}
