package hotstuff

import (
	"fmt"

	"bytes"
	"slices"

	"github.com/bftkit/bftkit/types"
)

// processQC takes in a QC (verified at the gateway, formed here, or
// genesis when nil) from a message by hint: it raises the high QC, moves
// the replica to the view after the QC, and applies the locking and commit
// rules. The high QC rises even while its block is missing, so that the
// replica's timeouts spread it and a restart does not forget why the view
// moved; the chain rules and proposing wait for the block, which is
// fetched.
func (e *Engine) processQC(q *types.QuorumCert, hint types.ValidatorIndex) {
	if q == nil {
		return
	}
	if q.View > qcView(e.s.HighQc) {
		e.s.HighQc, e.dirty = q, true
	}
	if q.View == e.s.View {
		e.viewSucceeded()
	}
	if _, ok := e.block(q.BlockID); ok {
		e.applyChainRules(q)
	} else if q.View > qcView(e.s.LockedQc) {
		// A QC at or below the lock cannot move the chain rules; fetching
		// its (possibly long pruned) block would only hold a fetch slot.
		e.fetch(q.BlockID, hint)
	}
	e.enterView(q.View+1, nil)
	e.maybeAskPayload()
}

// applyChainRules applies the locking and commit rules to the chain that a
// QC for b2 certifies: b0 ← b1 ← b2, each block justifying its parent.
func (e *Engine) applyChainRules(q *types.QuorumCert) {
	b2, _ := e.block(q.BlockID)
	if b2.Justify == nil {
		return
	}
	if shouldLock(qcView(b2.Justify), qcView(e.s.LockedQc)) {
		e.s.LockedQc, e.dirty = b2.Justify, true
	}
	b1, ok := e.block(b2.ParentID)
	if !ok || b1.Justify == nil {
		return
	}
	b0, ok := e.block(b1.ParentID)
	if !ok {
		return
	}
	// Links name each block by the QC that certifies it, and its parent
	// by its parent pointer: "direct parent" then means that the parent
	// pointer and the justify QC agree.
	l0 := ChainLink{ID: b1.Justify.BlockID, Parent: b0.ParentID, View: b0.View}
	l1 := ChainLink{ID: b2.Justify.BlockID, Parent: b1.ParentID, View: b1.View}
	l2 := ChainLink{ID: q.BlockID, Parent: b2.ParentID, View: b2.View}
	if e.cfg.Rules.CommitsThreeChain(l0, l1, l2) && b0.Height > e.heightOf(e.commitTarget) {
		e.commitTarget = l0.ID
		if proof, err := q.Marshal(); err == nil {
			e.commitProof = proof
		}
	}
	e.tryCommit()
}

func (e *Engine) heightOf(id types.BlockID) uint64 {
	b, _ := e.block(id)
	if b == nil {
		return 0
	}
	return b.Height
}

// tryCommit applies every block from the last committed one up to the
// commit target, in order. If a block in between is missing it is fetched
// and the commit waits: execution never has a gap.
func (e *Engine) tryCommit() {
	target, ok := e.block(e.commitTarget)
	if e.halted != nil || !ok || target.Height <= e.committedHeight {
		return
	}
	chain := make([]types.CommittedBlock, target.Height-e.committedHeight)
	id := e.commitTarget
	for k := len(chain) - 1; k >= 0; k-- {
		b, ok := e.block(id)
		if !ok {
			e.fetch(id, target.Proposer)
			return
		}
		chain[k] = types.CommittedBlock{ID: id, Block: b, Proof: e.commitProof}
		id = b.ParentID
	}
	if id != e.committedID {
		// The decided chain does not extend what this replica committed:
		// more than f replicas are Byzantine. Applying it would fork this
		// replica's own history, so it halts commits instead (and the
		// simulator's liveness check reports the stall).
		e.halted = fmt.Errorf("hotstuff: the decided block %v at height %d does not extend the committed block %v at height %d",
			e.commitTarget, target.Height, e.committedID, e.committedHeight)
		return
	}
	e.out.Committed = append(e.out.Committed, chain...)
	before := e.committedHeight
	e.committedHeight, e.committedID = target.Height, e.commitTarget
	if e.committedHeight/pruneEvery != before/pruneEvery {
		e.pruneBlocks()
	}
}

// pruneEvery is how many committed heights pass between two prunings; a
// pruning scans every block held, so it is not done on every commit.
const pruneEvery = 256

// pruneBlocks forgets blocks more than RetainCommitted heights below the
// committed head. The rules only ever look at blocks near the head.
func (e *Engine) pruneBlocks() {
	if e.committedHeight <= e.cfg.RetainCommitted {
		return
	}
	floor := e.committedHeight - e.cfg.RetainCommitted
	for id, b := range e.blocks {
		if b.Height < floor {
			delete(e.blocks, id)
		}
	}
}

// park holds a proposal whose parent is missing until the parent arrives;
// the oldest parked proposal is dropped beyond the bound.
func (e *Engine) park(p *types.Proposal) {
	if len(e.parked) >= e.cfg.MaxParked {
		e.parked = e.parked[1:]
	}
	e.parked = append(e.parked, p)
}

// fetch asks hint for a missing block (and its ancestors), unless a
// request for it is already out or too many are.
func (e *Engine) fetch(id types.BlockID, hint types.ValidatorIndex) {
	if id.IsZero() {
		return
	}
	if _, ok := e.fetching[id]; ok || len(e.fetching) >= e.cfg.MaxFetching {
		return
	}
	e.fetching[id] = fetchState{at: e.ticks}
	e.requestBlock(id, hint)
}

// awaitAncestor accepts the parent of a fetched block without asking for
// it: a fetch asks for ancestors too, so the parent is usually in the same
// batch, and if not, retryFetches asks. Asking at once for every block of
// a batch sent a new request per block, whose answers overlapped and,
// beyond the gateway's bound on expected answers, were refused as
// unrequested: a restarted replica at n = 7 never got the chain whole and
// never voted again.
func (e *Engine) awaitAncestor(id types.BlockID) {
	if _, ok := e.fetching[id]; ok || id.IsZero() || len(e.fetching) >= e.cfg.MaxFetching {
		return
	}
	e.fetching[id] = fetchState{at: e.ticks}
}

// fetchRetryTicks is how long a block request waits before it is sent to
// another peer; after maxFetchRetries the fetch is given up (a later QC or
// proposal that needs the block starts it again).
const (
	fetchRetryTicks = 10
	maxFetchRetries = 20
)

func (e *Engine) requestBlock(id types.BlockID, to types.ValidatorIndex) {
	if to == e.cfg.ID {
		to = (to + 1) % types.ValidatorIndex(e.cfg.N)
	}
	if to == e.cfg.ID {
		return // a single replica has no one to ask
	}
	e.send(to, &types.BlockRequest{Sender: e.cfg.ID, BlockID: id, Ancestors: types.MaxBlockRequestAncestors})
}

// fetchState is when a block was last requested and how often.
type fetchState struct {
	at, retries int
}

// retryFetches resends requests that got no answer to another peer,
// rotating through the set, in a fixed (sorted) order so that a seed
// replays exactly; a fetch that keeps failing is given up (a later QC or
// proposal that needs the block starts it again).
func (e *Engine) retryFetches() {
	var due []types.BlockID
	for id, f := range e.fetching {
		if e.ticks-f.at >= fetchRetryTicks {
			due = append(due, id)
		}
	}
	slices.SortFunc(due, func(a, b types.BlockID) int { return bytes.Compare(a[:], b[:]) })
	for _, id := range due {
		f := e.fetching[id]
		if f.retries >= maxFetchRetries {
			delete(e.fetching, id)
			continue
		}
		e.fetching[id] = fetchState{at: e.ticks, retries: f.retries + 1}
		e.requestBlock(id, types.ValidatorIndex((e.ticks/fetchRetryTicks+int(id[0]))%e.cfg.N))
	}
}

// handleBlockResponse accepts a block only if it is one this replica is
// fetching: its ID then proves its contents. Its parent, if unknown, is
// fetched next (it is usually in the same batch of responses).
func (e *Engine) handleBlockResponse(r *types.BlockResponse) {
	b := r.Block
	id := b.ID()
	if _, wanted := e.fetching[id]; !wanted || !wellFormed(b) {
		return
	}
	e.store(id, b)
	if _, ok := e.block(b.ParentID); !ok && b.Height > e.committedHeight+1 {
		e.awaitAncestor(b.ParentID)
	}
	e.unpark()
	e.processQC(r.Block.Justify, r.Sender)
	e.resumeHighQC()
	e.tryCommit()
}

// resumeHighQC applies the chain rules to the high QC once its block is
// known (it may have arrived after the QC), and proposes if due.
func (e *Engine) resumeHighQC() {
	if q := e.s.HighQc; q != nil {
		if _, ok := e.block(q.BlockID); ok {
			e.applyChainRules(q)
			e.maybeAskPayload()
		}
	}
}

// wellFormed checks a fetched block's structure as a proposal's is
// checked: it extends the block its QC certifies, in an earlier view, and
// only the first block may extend genesis without a QC.
func wellFormed(b *types.Block) bool {
	if b.ParentID != qcBlock(b.Justify) {
		return false
	}
	if b.Justify == nil {
		return b.Height == 1
	}
	return b.Justify.View < b.View
}

// unpark retries parked proposals now that a block arrived, stale ones
// included: their blocks are stored though not voted for.
func (e *Engine) unpark() {
	pending := e.parked
	e.parked = nil
	for _, p := range pending {
		_ = e.handleProposal(p) // a stale one still gives its block
	}
}
