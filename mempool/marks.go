package mempool

// MarkProposed records that a proposal at height carries txs, so Reap
// skips them until Update(height) either commits them or, if another
// block committed at that height, releases them. Call it for every
// proposal that passed validation, the node's own included. A tx seen in
// proposals at several heights stays marked until the highest one
// commits. Proposals at heights already committed are stale and ignored.
//
// A tx not pending yet is remembered as marked too (at most Config.MaxTxs
// of them): its gossip may arrive after the proposal, since a leader
// proposes its own clients' txs before they are gossiped, and admitting
// it as reapable would let the next leader propose it again. Past that
// bound the worst case is that duplicate proposal, which the chain
// survives (the app's replay protection rejects the second copy).
func (m *Mempool) MarkProposed(height uint64, txs [][]byte) {
	hashes := hashAll(txs) // outside the lock: a block is up to 8 MiB
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.updated && height <= m.height {
		return
	}
	for _, h := range hashes {
		if e := m.pending[h]; e != nil {
			m.markLocked(e, height)
		} else {
			m.markAbsentLocked(h, height)
		}
	}
}

func (m *Mempool) markLocked(e *entry, height uint64) {
	if e.marked && e.markHeight >= height {
		return
	}
	m.unmarkLocked(e)
	e.marked, e.markHeight = true, height
	m.indexMarkLocked(height, e.hash, e)
}

func (m *Mempool) unmarkLocked(e *entry) {
	if !e.marked {
		return
	}
	m.unindexMarkLocked(e.markHeight, e.hash)
	e.marked, e.markHeight = false, 0
}

func (m *Mempool) markAbsentLocked(h TxHash, height uint64) {
	old, ok := m.absent[h]
	switch {
	case ok && old >= height:
		return
	case ok:
		m.unindexMarkLocked(old, h)
	case len(m.absent) >= m.cfg.MaxTxs:
		return
	}
	m.absent[h] = height
	m.indexMarkLocked(height, h, nil)
}

// adoptMarkLocked starts a newly admitted tx marked if a proposal carrying
// it was seen before it arrived.
func (m *Mempool) adoptMarkLocked(e *entry) {
	height, ok := m.absent[e.hash]
	if !ok {
		return
	}
	delete(m.absent, e.hash)
	e.marked, e.markHeight = true, height
	m.marks[height][e.hash] = e
}

func (m *Mempool) indexMarkLocked(height uint64, h TxHash, e *entry) {
	set := m.marks[height]
	if set == nil {
		set = make(map[TxHash]*entry)
		m.marks[height] = set
	}
	set[h] = e
}

func (m *Mempool) unindexMarkLocked(height uint64, h TxHash) {
	set := m.marks[height]
	delete(set, h)
	if len(set) == 0 {
		delete(m.marks, height)
	}
}

// releaseLocked drops every mark at heights ≤ height: that height has
// committed, so its proposals either committed (their txs were removed)
// or were abandoned. There are as many heights as in-flight proposals.
func (m *Mempool) releaseLocked(height uint64) {
	for hgt, set := range m.marks {
		if hgt > height {
			continue
		}
		for h, e := range set {
			if e == nil {
				delete(m.absent, h)
			} else {
				e.marked, e.markHeight = false, 0
			}
		}
		delete(m.marks, hgt)
	}
}
