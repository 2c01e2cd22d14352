// Package mempool holds transactions between their submission and their
// commit: it admits them through the application's CheckTx, hands them to
// gossip and to the proposer, and tracks each one to a final outcome.
//
// The node drives it:
//
//	client (HTTP) ──Add(Local)──┐                ┌── NextGossipBatch → peers
//	peers' batches ─Add(Peer)───┤→ pending (FIFO)├── Reap → own proposal
//	every proposal seen ───────── MarkProposed   │
//	every committed block ─────── Update ────────┘→ Committed / Dropped
//
// Pipelined protocols (HotStuff) propose height h+1 before h commits, and
// gossip puts every tx in every mempool, so the next leader would propose
// again the txs of the uncommitted parent. MarkProposed hides the txs of
// the proposals the node has seen from Reap until their height commits;
// Update then removes the txs that committed and releases the others,
// whose proposal was abandoned.
//
// Every tx Add accepts ends Committed or Dropped with a reason (Status,
// Subscribe); none disappears silently. All memory is bounded by Config.
package mempool

import (
	"bytes"
	"container/list"
	"context"
	"fmt"
	"sync"

	"github.com/bftkit/bftkit/app"
)

// Checker is the part of the application the mempool calls;
// app.Application satisfies it.
type Checker interface {
	CheckTx(ctx context.Context, req app.CheckTxRequest) (app.CheckTxResponse, error)
}

// Source says where a tx came from. Only Local txs are gossiped: gossipsub
// already floods the batches peers send, and re-gossiping them would
// multiply the traffic by the number of validators.
type Source uint8

const (
	// Local: submitted by a client of this node.
	Local Source = iota + 1
	// Peer: received in a peer's gossip batch.
	Peer
)

func (s Source) String() string {
	switch s {
	case Local:
		return "local"
	case Peer:
		return "peer"
	}
	return fmt.Sprintf("source(%d)", uint8(s))
}

// Mempool is safe for concurrent use. One mutex guards all state; it is
// never held while the application runs CheckTx, which may be slow.
type Mempool struct {
	cfg     Config
	checker Checker

	// updateMu serializes Updates, so that two rechecks never interleave
	// and heights apply in order.
	updateMu sync.Mutex

	mu       sync.Mutex
	pending  map[TxHash]*entry
	order    *list.List          // of *entry, in arrival order
	bytes    int                 // sum of pending tx sizes
	inflight map[TxHash]struct{} // in CheckTx: at most one per running Add
	gossip   *list.List          // of *entry: Local, pending, not yet handed out
	gossiped *list.List          // of *entry: Local, pending, handed out; oldest gossipedAt first
	// marks indexes the marks by proposal height, so Update releases a
	// height's marks without scanning the pending set. A nil entry marks
	// a tx that is not pending (yet); absent holds those hashes, with
	// their height, for Add to find.
	marks  map[uint64]map[TxHash]*entry
	absent map[TxHash]uint64
	// updated, height: the last Update, if any. updates counts Updates;
	// the TTL is measured in it so that a node starting at a high height
	// does not see every tx as ancient.
	updated     bool
	height      uint64
	updates     uint64
	recheckNext *list.Element // round-robin cursor in order; nil = front
	outcomes    *outcomeCache
	subs        map[TxHash]map[*subscription]struct{}
	nsubs       int
	stats       Stats
}

// entry is one pending tx. tx and hash never change after insertion, so
// recheck may read them without the lock; the rest is guarded by m.mu.
type entry struct {
	tx         []byte
	hash       TxHash
	addedAt    uint64        // m.updates at admission
	elem       *list.Element // in m.order
	gossipElem *list.Element // in m.gossip; nil once handed out, or Peer
	marked     bool
	markHeight uint64        // the highest proposal height it was seen in
	local      bool          // submitted here: this node gossips it
	gossipedAt uint64        // m.updates when last handed out for gossip
	sentElem   *list.Element // in m.gossiped while handed out
}

// New returns an empty mempool that admits txs through checker.
func New(cfg Config, checker Checker) (*Mempool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if checker == nil {
		return nil, fmt.Errorf("mempool: nil checker")
	}
	return &Mempool{
		cfg:      cfg,
		checker:  checker,
		pending:  make(map[TxHash]*entry),
		order:    list.New(),
		inflight: make(map[TxHash]struct{}),
		gossip:   list.New(),
		gossiped: list.New(),
		marks:    make(map[uint64]map[TxHash]*entry),
		absent:   make(map[TxHash]uint64),
		outcomes: newOutcomeCache(cfg.OutcomeCacheSize),
		subs:     make(map[TxHash]map[*subscription]struct{}),
	}, nil
}

// Add admits tx if it fits the limits, is new, and CheckTx accepts it. It
// returns the tx's hash and one of: ErrEmptyTx, ErrTxTooLarge,
// ErrDuplicate, ErrMempoolFull (all wrapped: test with errors.Is),
// *RejectedError, or CheckTx's own error wrapped. The limits are checked
// before CheckTx, to spare the application a tx that cannot fit, and again
// after it, since concurrent Adds may have filled the mempool meanwhile.
// Add copies tx.
func (m *Mempool) Add(ctx context.Context, tx []byte, src Source) (TxHash, error) {
	if src != Local && src != Peer {
		return TxHash{}, fmt.Errorf("mempool: invalid tx source %d", src)
	}
	h := HashTx(tx) // outside the lock; the caller bounded len(tx) already
	if err := m.reserve(h, len(tx)); err != nil {
		return h, err
	}
	settled := false
	defer func() {
		if !settled { // CheckTx panicked: do not lock this tx out forever
			m.mu.Lock()
			delete(m.inflight, h)
			m.mu.Unlock()
		}
	}()
	resp, err := m.checker.CheckTx(ctx, app.CheckTxRequest{Tx: tx})
	settled = true

	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.inflight, h)
	switch {
	case err != nil:
		m.stats.Rejected.CheckTxError++
		return h, fmt.Errorf("mempool: CheckTx: %w", err)
	case !resp.IsOK():
		m.stats.Rejected.CheckTx++
		return h, &RejectedError{Code: resp.Code, Log: resp.Log}
	}
	if err := m.admissibleLocked(h, len(tx)); err != nil {
		return h, err
	}
	m.insertLocked(h, tx, src)
	m.stats.Accepted++
	return h, nil
}

// reserve runs the admission checks before CheckTx and claims h, so that
// the copies of a tx arriving from several peers at once cost one CheckTx.
func (m *Mempool) reserve(h TxHash, size int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case size == 0:
		m.stats.Rejected.Empty++
		return ErrEmptyTx
	case size > m.cfg.MaxTxBytes:
		m.stats.Rejected.TooLarge++
		return fmt.Errorf("%w: %d bytes (limit %d)", ErrTxTooLarge, size, m.cfg.MaxTxBytes)
	}
	if _, ok := m.inflight[h]; ok {
		m.stats.Rejected.Duplicate++
		return fmt.Errorf("%w: %s is being admitted", ErrDuplicate, h)
	}
	if err := m.admissibleLocked(h, size); err != nil {
		return err
	}
	m.inflight[h] = struct{}{}
	return nil
}

// admissibleLocked checks duplicates, then room, counting the rejection.
func (m *Mempool) admissibleLocked(h TxHash, size int) error {
	if _, ok := m.pending[h]; ok {
		m.stats.Rejected.Duplicate++
		return fmt.Errorf("%w: %s is pending", ErrDuplicate, h)
	}
	if o, ok := m.outcomes.get(h); ok && o.Status == Committed {
		m.stats.Rejected.Duplicate++
		return fmt.Errorf("%w: %s committed at height %d", ErrDuplicate, h, o.Height)
	}
	if len(m.pending)+1 > m.cfg.MaxTxs || m.bytes+size > m.cfg.MaxBytes {
		m.stats.Rejected.Full++
		return fmt.Errorf("%w: %d txs, %d bytes (limits %d txs, %d bytes)",
			ErrMempoolFull, len(m.pending), m.bytes, m.cfg.MaxTxs, m.cfg.MaxBytes)
	}
	return nil
}

func (m *Mempool) insertLocked(h TxHash, tx []byte, src Source) {
	e := &entry{tx: bytes.Clone(tx), hash: h, addedAt: m.updates, local: src == Local}
	e.elem = m.order.PushBack(e)
	if src == Local {
		e.gossipElem = m.gossip.PushBack(e)
	}
	m.pending[h] = e
	m.bytes += len(tx)
	m.adoptMarkLocked(e)
}

// removeLocked unlinks e from every index; the caller records the outcome.
func (m *Mempool) removeLocked(e *entry) {
	delete(m.pending, e.hash)
	if m.recheckNext == e.elem {
		m.recheckNext = e.elem.Next()
	}
	m.order.Remove(e.elem)
	if e.gossipElem != nil {
		m.gossip.Remove(e.gossipElem)
		e.gossipElem = nil
	}
	if e.sentElem != nil {
		m.gossiped.Remove(e.sentElem)
		e.sentElem = nil
	}
	m.unmarkLocked(e)
	m.bytes -= len(e.tx)
}

// Reap returns pending txs in arrival order, skipping those marked as
// proposed, up to maxTxs txs and maxBytes bytes in total (a negative limit
// is no limit). It stops at the first tx that does not fit rather than
// packing smaller later ones, so that no tx is overtaken indefinitely.
// The txs stay pending; the caller must not modify the returned slices.
//
// Reap walks past the marked txs: a few in-flight proposals' worth.
func (m *Mempool) Reap(maxTxs, maxBytes int) [][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out [][]byte
	size := 0
	for el := m.order.Front(); el != nil && (maxTxs < 0 || len(out) < maxTxs); el = el.Next() {
		e := el.Value.(*entry)
		if e.marked {
			continue
		}
		if maxBytes >= 0 && size+len(e.tx) > maxBytes {
			break
		}
		out = append(out, e.tx)
		size += len(e.tx)
	}
	return out
}

// Status reports a tx's outcome: Pending while it is in the mempool, else
// its final outcome if the outcome cache still remembers it.
func (m *Mempool) Status(h TxHash) (Outcome, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.pending[h]; ok {
		return Outcome{Status: Pending}, true
	}
	return m.outcomes.get(h)
}

// Size reports the pending txs and their total bytes.
func (m *Mempool) Size() (txs int, bytes int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.pending), m.bytes
}

func hashAll(txs [][]byte) []TxHash {
	hs := make([]TxHash, len(txs))
	for i, tx := range txs {
		hs[i] = HashTx(tx)
	}
	return hs
}
