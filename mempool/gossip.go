package mempool

// NextGossipBatch hands out, in arrival order, the Local txs queued for
// gossip, up to Config.MaxGossipBatchTxs txs and MaxGossipBatchBytes
// bytes; nil when there are none. Each tx is handed out once, and again
// only if no block or proposal took it for RegossipHeights blocks
// (regossipLocked). Txs committed or dropped before their turn have
// already left the queue, which therefore never outgrows the pending set.
// The caller must not modify the returned slices.
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
		e.sentElem = m.gossiped.PushBack(e)
		out = append(out, e.tx)
		size += len(e.tx)
	}
	return out
}

// regossipLocked queues again local txs still pending and in no proposal
// RegossipHeights blocks after they were last gossiped: a batch published
// before the peers' mesh formed, or lost, would otherwise never reach a
// leader that stays leader (Raft, or a PBFT primary). Handed-out txs wait
// in gossipedAt order, so this looks only at the due ones, at most a
// gossip batch's worth per Update; one in a proposal waits another round.
func (m *Mempool) regossipLocked() {
	if m.cfg.RegossipHeights == 0 {
		return
	}
	for range m.cfg.MaxGossipBatchTxs {
		el := m.gossiped.Front()
		if el == nil {
			return
		}
		e := el.Value.(*entry)
		if m.updates-e.gossipedAt < m.cfg.RegossipHeights {
			return
		}
		m.gossiped.Remove(el)
		e.sentElem = nil
		if e.marked {
			e.gossipedAt = m.updates
			e.sentElem = m.gossiped.PushBack(e)
			continue
		}
		e.gossipElem = m.gossip.PushBack(e)
	}
}
