package mempool

// Stats are cumulative counters since New, for metrics.
type Stats struct {
	// Accepted counts the txs Add admitted.
	Accepted uint64
	// Rejected counts Add's refusals by cause.
	Rejected RejectedStats
	// Committed counts pending txs removed because a block committed them.
	Committed uint64
	// Dropped counts pending txs removed without being committed.
	Dropped DroppedStats
}

// RejectedStats counts Add's refusals by cause.
type RejectedStats struct {
	Full         uint64 // ErrMempoolFull
	TooLarge     uint64 // ErrTxTooLarge
	Empty        uint64 // ErrEmptyTx
	Duplicate    uint64 // ErrDuplicate
	CheckTx      uint64 // *RejectedError
	CheckTxError uint64 // CheckTx itself failed
}

// DroppedStats counts drops by DropReason.
type DroppedStats struct {
	Recheck uint64
	Expired uint64
}

// Stats returns a snapshot of the counters.
func (m *Mempool) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}
