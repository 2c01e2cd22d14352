package loadgen

import (
	"sync"
	"time"

	"github.com/bftkit/bftkit/api"
)

// txState is what is known about one submitted transaction.
type txState uint8

const (
	stAccepted txState = 1 << iota
	stRejected
	stCommitted
	// stLost marks a rejection for a lost answer (transport error,
	// timeout): the node may have admitted the transaction all the same,
	// so it is kept for settleGrace in case it commits.
	stLost
)

// txRec is what the ledger keeps per transaction.
type txRec struct {
	sent  time.Duration // submit time since start
	state txState
	kind  uint8 // error kind of a rejection, 1 + index in ledger.kinds; 0 = none
}

// final reports whether nothing can change rec any more, so the ledger
// may forget it: answered and committed, or rejected by the node. A lost
// answer is final only once aged (older than settleGrace).
func (r *txRec) final(aged bool) bool {
	switch {
	case r.state&stCommitted != 0:
		return r.state&stAccepted != 0 // else the answer is still to come
	case r.state&stRejected != 0:
		return r.state&stLost == 0 || aged
	}
	return false
}

const (
	// settleGrace is how long a transaction stays in the window while
	// not final. Past it, a lost answer's transactions are taken as
	// really rejected (a commit seen later is no longer recognised), and
	// the accepted or unanswered ones move to the straggler map, so one
	// transaction that never commits cannot pin the window. It is a few
	// times postTimeout: a batch admitted just before its answer was lost
	// commits within a few blocks.
	settleGrace = 20 * time.Second
	// minCompact is the least number of forgotten records worth moving
	// the window's live part down for.
	minCompact = 1024
)

// ledger is the one place submitters and the chain follower meet. It
// keeps 16 bytes per transaction (submit time, state, error kind) and
// only while the transaction may still change: a run of a year at
// thousands of tx/s must not keep every transaction. Records live in a
// window indexed by sequence number; the prefix that is final (or older
// than settleGrace) is forgotten, and the few records in it that are not
// final yet move to a map. Memory is therefore bounded by the
// transactions submitted in the last settleGrace and those still
// pending, never by the length of the run.
type ledger struct {
	mu    sync.Mutex
	start time.Time
	// recs holds sequence numbers [off, next); those below base are
	// forgotten or in old, and their slots in recs are dead until the
	// next compaction moves the live part down.
	recs       []txRec
	off, base  uint64
	next       uint64
	old        map[uint64]*txRec // below base and not final: stragglers
	grace      time.Duration     // settleGrace; tests shorten it
	peak       int               // most records ever held, for tests
	lastSubmit time.Duration     // when the last sequence numbers were reserved

	submitted, accepted, rejected, committed, skipped int
	// pending counts accepted transactions not yet seen committed: the
	// drain waits for it to reach zero.
	pending    int
	hist       histogram
	errs       errorCounts
	kinds      []string      // error kinds rejections were counted under
	submitEnd  time.Duration // when submission stopped; 0 while running
	lastCommit time.Duration
	draining   bool
}

func newLedger(start time.Time) *ledger {
	return &ledger{start: start, errs: errorCounts{}, old: map[uint64]*txRec{}, grace: settleGrace}
}

// reserve assigns n sequence numbers submitted now.
func (l *ledger) reserve(n int) (first uint64) {
	at := time.Since(l.start)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.trim(at)
	first = l.next
	for range n {
		l.recs = append(l.recs, txRec{sent: at})
	}
	l.next += uint64(n)
	l.submitted += n
	l.lastSubmit = max(l.lastSubmit, at)
	l.peak = max(l.peak, len(l.recs)+len(l.old))
	return first
}

// trim forgets the final prefix of the window, moving records that are
// older than the grace but not final to old, and compacts the window
// once at least half of it is dead (so copying costs O(1) per record).
// Runs under mu.
func (l *ledger) trim(now time.Duration) {
	for ; l.base < l.next; l.base++ {
		r := &l.recs[l.base-l.off]
		aged := now-r.sent >= l.grace
		if r.final(aged) {
			continue
		}
		if !aged {
			break
		}
		c := *r
		l.old[l.base] = &c
	}
	if dead := int(l.base - l.off); dead >= minCompact && dead >= len(l.recs)/2 {
		n := copy(l.recs, l.recs[dead:])
		l.recs = l.recs[:n]
		l.off = l.base
	}
}

// rec is seq's record, or nil if seq was forgotten or never reserved.
// Runs under mu; after changing a record call tidy.
func (l *ledger) rec(seq uint64) *txRec {
	switch {
	case seq >= l.next:
		return nil
	case seq >= l.base:
		return &l.recs[seq-l.off]
	}
	return l.old[seq]
}

// tidy forgets a straggler that became final: stragglers are past the
// grace, so a lost answer's rejection is final too.
func (l *ledger) tidy(seq uint64, r *txRec) {
	if seq < l.base && r.final(true) {
		delete(l.old, seq)
	}
}

// retained is how many records the ledger holds (tests check it stays
// bounded).
func (l *ledger) retained() (now, peak int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recs) - int(l.base-l.off) + len(l.old), l.peak
}

// settle records a node's answer for the batch [first, first+n): the
// listed rejections by index, and every index from cut on rejected with
// cutMsg (a full mempool refuses the rest of a batch).
func (l *ledger) settle(first uint64, n int, rejected []api.TxBatchRejection, cut int, cutMsg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := 0
	for i := range n {
		for r < len(rejected) && rejected[r].Index < i {
			r++ // out of order or out of range: ignore
		}
		switch {
		case i >= cut:
			l.reject(first+uint64(i), cutMsg, false)
		case r < len(rejected) && rejected[r].Index == i:
			l.reject(first+uint64(i), rejected[r].Error, false)
		default:
			l.accept(first + uint64(i))
		}
	}
}

// lose records that the answer for [first, first+n) was lost: they count
// as rejected with msg unless they are seen committed.
func (l *ledger) lose(first uint64, n int, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range n {
		l.reject(first+uint64(i), msg, true)
	}
}

// accept and reject run under mu. A transaction seen committed was
// admitted by somebody, whatever the answer says (a request that timed
// out may still have been admitted), so it counts as accepted.
func (l *ledger) accept(seq uint64) {
	rec := l.rec(seq)
	if rec == nil {
		return
	}
	l.accepted++
	if rec.state&stCommitted == 0 {
		l.pending++
	}
	rec.state |= stAccepted
	l.tidy(seq, rec)
}

func (l *ledger) reject(seq uint64, msg string, lost bool) {
	rec := l.rec(seq)
	if rec == nil {
		return
	}
	if rec.state&stCommitted != 0 {
		l.accepted++
		rec.state |= stAccepted
		l.tidy(seq, rec)
		return
	}
	l.rejected++
	rec.state |= stRejected
	if lost {
		rec.state |= stLost
	}
	rec.kind = l.addErrorLocked(msg, 1)
	l.tidy(seq, rec)
}

// commit records this run's transactions found in a block at time seen.
// A transaction rejected earlier is reclassified as accepted, and its
// rejection no longer counts in the errors.
func (l *ledger) commit(seqs []uint64, seen time.Time) {
	at := seen.Sub(l.start)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, seq := range seqs {
		rec := l.rec(seq)
		if rec == nil || rec.state&stCommitted != 0 {
			continue // not ours after all, forgotten, or committed twice
		}
		st := rec.state
		rec.state = st | stCommitted
		l.committed++
		switch {
		case st&stAccepted != 0:
			l.pending--
		case st&stRejected != 0: // the node said no (or we never heard), yet it committed
			l.rejected--
			l.accepted++
			rec.state |= stAccepted
			if rec.kind > 0 {
				l.errs.sub(l.kinds[rec.kind-1], 1)
				rec.kind = 0
			}
		}
		l.hist.record(max(at-rec.sent, 0))
		l.lastCommit = max(l.lastCommit, at)
		l.tidy(seq, rec)
	}
}

func (l *ledger) addError(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addErrorLocked(msg, 1)
}

// addErrorLocked counts msg and returns its kind for txRec.kind. The
// kinds are the keys of errs, so there are at most maxErrorKinds.
func (l *ledger) addErrorLocked(msg string, n int) uint8 {
	key := l.errs.add(msg, n)
	for i, k := range l.kinds {
		if k == key {
			return uint8(i + 1)
		}
	}
	l.kinds = append(l.kinds, key)
	return uint8(len(l.kinds))
}

// skip counts n transactions the schedule owed but did not send.
func (l *ledger) skip(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.skipped += n
}

func (l *ledger) pendingCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pending
}

// endSubmission closes the submit window at end. A window that reached
// its deadline is taken to end at the deadline or, if the last tick came
// late and still reserved transactions after it, at that last
// reservation: dividing by Duration alone would overstate SubmitRate.
func (l *ledger) endSubmission(end, deadline time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.submitEnd = max(min(end.Sub(l.start), deadline.Sub(l.start)), l.lastSubmit)
	l.draining = true
}

func (l *ledger) snapshot(now time.Time) Snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Snapshot{
		Elapsed: now.Sub(l.start), Submitted: l.submitted, Committed: l.committed, Skipped: l.skipped,
		P50: l.hist.quantile(0.5), Draining: l.draining,
	}
}

func (l *ledger) result(end time.Time) Result {
	l.mu.Lock()
	defer l.mu.Unlock()
	res := Result{
		Submitted: l.submitted, Skipped: l.skipped, Accepted: l.accepted, Rejected: l.rejected,
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

// add counts n under msg and returns the key it was counted under.
func (e errorCounts) add(msg string, n int) string {
	if _, ok := e[msg]; !ok && len(e) >= maxErrorKinds-1 {
		msg = otherErrors
	}
	e[msg] += n
	return msg
}

// sub uncounts n under key. A key that drops to zero stays (clone leaves
// it out), so the set of keys, and ledger.kinds with it, only grows.
func (e errorCounts) sub(key string, n int) {
	if _, ok := e[key]; ok {
		e[key] = max(e[key]-n, 0)
	}
}

func (e errorCounts) clone() map[string]int {
	out := make(map[string]int, len(e))
	for k, v := range e {
		if v > 0 {
			out[k] = v
		}
	}
	return out
}
