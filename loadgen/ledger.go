package loadgen

import (
	"sync"
	"time"

	"github.com/bftkit/bftkit/node"
)

// txState is what is known about one submitted transaction.
type txState uint8

const (
	stAccepted txState = 1 << iota
	stRejected
	stCommitted
)

// ledger is the one place submitters and the chain follower meet. Per
// transaction it keeps 9 bytes (submit time and state), indexed by
// sequence number, so memory is bounded by the submitted set and never
// holds the transactions themselves.
type ledger struct {
	mu    sync.Mutex
	start time.Time
	sent  []time.Duration // submit time since start, by sequence number
	state []txState

	submitted, accepted, rejected, committed int
	// pending counts accepted transactions not yet seen committed: the
	// drain waits for it to reach zero.
	pending    int
	hist       histogram
	errs       errorCounts
	submitEnd  time.Duration // when submission stopped; 0 while running
	lastCommit time.Duration
	draining   bool
}

func newLedger(start time.Time) *ledger {
	return &ledger{start: start, errs: errorCounts{}}
}

// reserve assigns n sequence numbers submitted now.
func (l *ledger) reserve(n int) (first uint64) {
	at := time.Since(l.start)
	l.mu.Lock()
	defer l.mu.Unlock()
	first = uint64(len(l.sent))
	for range n {
		l.sent = append(l.sent, at)
		l.state = append(l.state, 0)
	}
	l.submitted += n
	return first
}

// settle records a node's answer for the batch [first, first+n): the
// listed rejections by index, and every index from cut on rejected with
// cutMsg (a full mempool refuses the rest of a batch).
func (l *ledger) settle(first uint64, n int, rejected []node.TxBatchRejection, cut int, cutMsg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := 0
	for i := range n {
		for r < len(rejected) && rejected[r].Index < i {
			r++ // out of order or out of range: ignore
		}
		switch {
		case i >= cut:
			l.reject(first+uint64(i), cutMsg)
		case r < len(rejected) && rejected[r].Index == i:
			l.reject(first+uint64(i), rejected[r].Error)
		default:
			l.accept(first + uint64(i))
		}
	}
}

// accept and reject run under mu. A transaction seen committed was
// admitted by somebody, whatever the answer says (a request that timed
// out may still have been admitted), so it counts as accepted.
func (l *ledger) accept(seq uint64) {
	l.accepted++
	if l.state[seq]&stCommitted == 0 {
		l.pending++
	}
	l.state[seq] |= stAccepted
}

func (l *ledger) reject(seq uint64, msg string) {
	if l.state[seq]&stCommitted != 0 {
		l.accepted++
		l.state[seq] |= stAccepted
		return
	}
	l.rejected++
	l.state[seq] |= stRejected
	l.errs.add(msg, 1)
}

// commit records this run's transactions found in a block at time seen.
func (l *ledger) commit(seqs []uint64, seen time.Time) {
	at := seen.Sub(l.start)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, seq := range seqs {
		if seq >= uint64(len(l.state)) || l.state[seq]&stCommitted != 0 {
			continue // not ours after all, or committed twice
		}
		st := l.state[seq]
		l.state[seq] = st | stCommitted
		l.committed++
		switch {
		case st&stAccepted != 0:
			l.pending--
		case st&stRejected != 0: // the node said no, yet it committed
			l.rejected--
			l.accepted++
			l.state[seq] |= stAccepted
		}
		l.hist.record(max(at-l.sent[seq], 0))
		l.lastCommit = max(l.lastCommit, at)
	}
}

func (l *ledger) addError(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs.add(msg, 1)
}

func (l *ledger) pendingCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pending
}

func (l *ledger) endSubmission(at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.submitEnd = at.Sub(l.start)
	l.draining = true
}

func (l *ledger) snapshot(now time.Time) Snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Snapshot{
		Elapsed: now.Sub(l.start), Submitted: l.submitted, Committed: l.committed,
		P50: l.hist.quantile(0.5), Draining: l.draining,
	}
}

func (l *ledger) result(end time.Time) Result {
	l.mu.Lock()
	defer l.mu.Unlock()
	res := Result{
		Submitted: l.submitted, Accepted: l.accepted, Rejected: l.rejected,
		Committed: l.committed, Uncommitted: l.pending,
		Elapsed: end.Sub(l.start), Latency: l.hist.percentiles(), Errors: l.errs.clone(),
	}
	if l.submitEnd > 0 {
		res.SubmitRate = float64(l.submitted) / l.submitEnd.Seconds()
	}
	if l.lastCommit > 0 {
		res.CommitRate = float64(l.committed) / l.lastCommit.Seconds()
	}
	return res
}

// errorCounts counts errors by message, keeping at most maxErrorKinds
// keys: messages can embed details (addresses, sizes) and a long run must
// not grow the map without bound.
type errorCounts map[string]int

const (
	maxErrorKinds = 20
	otherErrors   = "(other errors)"
)

func (e errorCounts) add(msg string, n int) {
	if _, ok := e[msg]; !ok && len(e) >= maxErrorKinds-1 {
		msg = otherErrors
	}
	e[msg] += n
}

func (e errorCounts) clone() map[string]int {
	out := make(map[string]int, len(e))
	for k, v := range e {
		out[k] = v
	}
	return out
}
