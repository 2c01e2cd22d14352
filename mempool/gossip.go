package mempool

// NextGossipBatch hands out, in arrival order, the Local txs not handed
// out before, up to Config.MaxGossipBatchTxs txs and MaxGossipBatchBytes
// bytes; nil when there are none. Each tx is handed out once: gossipsub
// delivers reliably enough, and a peer that missed it still gets it in
// the block. Txs committed or dropped before their turn have already left
// the queue, which therefore never outgrows the pending set. The caller
// must not modify the returned slices.
func (m *Mempool) NextGossipBatch() [][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out [][]byte
	size := 0
	for el := m.gossip.Front(); el != nil && len(out) < m.cfg.MaxGossipBatchTxs; {
		e := el.Value.(*entry)
		if size+len(e.tx) > m.cfg.MaxGossipBatchBytes {
			break // Validate ensures a lone tx always fits
		}
		el = el.Next()
		m.gossip.Remove(e.gossipElem)
		e.gossipElem, e.gossipedAt = nil, m.updates
		out = append(out, e.tx)
		size += len(e.tx)
	}
	return out
}

// regossipLocked queues again, oldest first, local txs still pending and
// in no proposal RegossipHeights blocks after they were last gossiped: a
// batch published before the peers' mesh formed, or lost, would otherwise
// never reach a leader that stays leader (Raft, or a PBFT primary). It
// looks at no more than MaxGossipBatchTxs entries per Update.
func (m *Mempool) regossipLocked() {
	if m.cfg.RegossipHeights == 0 {
		return
	}
	looked := 0
	for el := m.order.Front(); el != nil && looked < m.cfg.MaxGossipBatchTxs; el = el.Next() {
		e := el.Value.(*entry)
		looked++
		if e.local && !e.marked && e.gossipElem == nil && m.updates-e.gossipedAt >= m.cfg.RegossipHeights {
			e.gossipElem = m.gossip.PushBack(e)
		}
	}
}
