package mempool

import "fmt"

// Status is where a tx stands. Committed and Dropped are final, except
// that a Dropped tx may still commit: another leader may have proposed it
// before this node dropped it. The mempool then records Committed over
// Dropped, since the chain is the truth.
type Status uint8

const (
	// Pending: in the mempool, waiting to be committed.
	Pending Status = iota + 1
	// Committed: included in a committed block (Outcome.Height).
	Committed
	// Dropped: removed without being committed (Outcome.Reason).
	Dropped
)

func (s Status) String() string {
	switch s {
	case Pending:
		return "pending"
	case Committed:
		return "committed"
	case Dropped:
		return "dropped"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// MarshalText encodes the status by name, for JSON responses.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// DropReason says why a tx was dropped. It is a small closed set so that
// metrics can label by it; Outcome.Detail carries the specifics.
type DropReason uint8

const (
	// NoReason is the reason of outcomes that are not Dropped.
	NoReason DropReason = iota
	// DropRecheck: CheckTx{Recheck} rejected the tx after a commit changed
	// the state (e.g. its nonce was used by another tx).
	DropRecheck
	// DropExpired: Config.TTLHeights blocks committed without the tx.
	DropExpired
)

func (r DropReason) String() string {
	switch r {
	case NoReason:
		return ""
	case DropRecheck:
		return "recheck"
	case DropExpired:
		return "expired"
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// MarshalText encodes the reason by name, for JSON responses.
func (r DropReason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// Outcome is what the mempool knows about a tx.
type Outcome struct {
	Status Status
	// Height is the committing block's height (Committed) or the height
	// whose Update dropped the tx (Dropped); 0 while Pending.
	Height uint64
	// Reason and Detail explain a drop: the recheck's code and log, or the
	// TTL that expired.
	Reason DropReason
	Detail string
}

// outcomeCache remembers the last max final outcomes, evicting the oldest
// recorded first. A hash recorded twice (dropped, re-added, committed)
// keeps its newest outcome; the older ring slot must not evict it, so each
// slot carries the sequence number of the record it made.
type outcomeCache struct {
	max   int
	seq   uint64
	byTx  map[TxHash]cachedOutcome
	ring  []ringSlot // grows to max, then wraps at start
	start int
}

type cachedOutcome struct {
	Outcome
	seq uint64
}

type ringSlot struct {
	hash TxHash
	seq  uint64
}

func newOutcomeCache(max int) *outcomeCache {
	return &outcomeCache{max: max, byTx: make(map[TxHash]cachedOutcome)}
}

func (c *outcomeCache) get(h TxHash) (Outcome, bool) {
	o, ok := c.byTx[h]
	return o.Outcome, ok
}

func (c *outcomeCache) put(h TxHash, o Outcome) {
	c.seq++
	c.byTx[h] = cachedOutcome{Outcome: o, seq: c.seq}
	slot := ringSlot{hash: h, seq: c.seq}
	if len(c.ring) < c.max {
		c.ring = append(c.ring, slot)
		return
	}
	old := c.ring[c.start]
	if cur, ok := c.byTx[old.hash]; ok && cur.seq == old.seq {
		delete(c.byTx, old.hash)
	}
	c.ring[c.start] = slot
	c.start = (c.start + 1) % c.max
}

func (c *outcomeCache) len() int { return len(c.byTx) }
