package mempool

import "fmt"

// subscription is one Subscribe call waiting for a final outcome. Its
// channel has room for the one value it will ever receive, so notifying
// never blocks the mempool, whether or not anybody reads.
type subscription struct {
	ch chan Outcome
}

// Subscribe returns a channel that receives the tx's final outcome
// (Committed or Dropped) once, and a cancel func that releases the
// subscription; call it when done waiting (it is idempotent, and harmless
// after the outcome arrived). The channel is never closed.
//
// If the outcome is already final the channel holds it already. A hash
// the mempool does not know yet is watched too: it fires if a block
// commits the tx, so a client may wait on a tx submitted to another node.
// It may thus never fire; the caller bounds the wait (e.g. the HTTP
// request's context) and cancels.
//
// At most Config.MaxSubscribers may wait at once; beyond that Subscribe
// returns ErrTooManySubscribers.
func (m *Mempool) Subscribe(h TxHash) (<-chan Outcome, func(), error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, pending := m.pending[h]; !pending {
		if o, ok := m.outcomes.get(h); ok {
			ch := make(chan Outcome, 1)
			ch <- o
			return ch, func() {}, nil
		}
	}
	if m.nsubs >= m.cfg.MaxSubscribers {
		return nil, nil, fmt.Errorf("%w: %d waiting (limit %d)", ErrTooManySubscribers, m.nsubs, m.cfg.MaxSubscribers)
	}
	s := &subscription{ch: make(chan Outcome, 1)}
	set := m.subs[h]
	if set == nil {
		set = make(map[*subscription]struct{})
		m.subs[h] = set
	}
	set[s] = struct{}{}
	m.nsubs++
	return s.ch, func() { m.unsubscribe(h, s) }, nil
}

func (m *Mempool) unsubscribe(h TxHash, s *subscription) {
	m.mu.Lock()
	defer m.mu.Unlock()
	set := m.subs[h]
	if _, ok := set[s]; !ok {
		return // already notified or cancelled
	}
	delete(set, s)
	m.nsubs--
	if len(set) == 0 {
		delete(m.subs, h)
	}
}

// finalize records a final outcome and notifies its subscribers. Caller
// holds m.mu.
func (m *Mempool) finalize(h TxHash, o Outcome) {
	m.outcomes.put(h, o)
	set := m.subs[h]
	for s := range set {
		s.ch <- o // room for exactly this one value
	}
	m.nsubs -= len(set)
	delete(m.subs, h)
}
