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
		e.gossipElem = nil
		out = append(out, e.tx)
		size += len(e.tx)
	}
	return out
}
