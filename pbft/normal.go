package pbft

import (
	"fmt"

	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// This file is the normal case (§4.2): pre-prepare, prepare, commit, and
// execution in sequence order.

// onPrePrepare accepts a pre-prepare if it is for the current view, from
// its primary, inside the watermarks, and names no digest other than one
// already accepted for (view, seq). The digest is the block's ID, computed
// here, so a pre-prepare cannot name one block and carry another.
func (e *Engine) onPrePrepare(pp *types.PBFTPrePrepare) error {
	if e.holdEarly(pp.View, pp) {
		return nil
	}
	switch {
	case e.changing || pp.View != e.view:
		return fmt.Errorf("pre-prepare for view %d in view %d: %w", pp.View, e.view, ErrWrongView)
	case pp.Primary != e.primary(pp.View):
		return fmt.Errorf("pre-prepare from %d: %w", pp.Primary, ErrNotPrimary)
	case !inWatermarks(pp.Seq, e.low, e.cfg.WindowSize):
		if pp.Seq > e.low {
			// Far ahead: this replica is behind by more than the window
			// (a restart). Fetching only up to each stable checkpoint left
			// it waiting between checkpoints, long enough to time out
			// alone into a view no one else entered.
			e.fetchGap(min(pp.Seq, e.executed+e.cfg.MaxFetchAhead+1))
		}
		return fmt.Errorf("pre-prepare for %d, window (%d, %d]: %w", pp.Seq, e.low, e.low+e.cfg.WindowSize, ErrOutOfWindow)
	}
	if err := e.checkPayloadLimits(pp.Block); err != nil {
		return err
	}
	if !pp.Block.ParentID.IsZero() {
		return fmt.Errorf("pre-prepare (%d, %d): %w", pp.View, pp.Seq, ErrHasParent)
	}
	d := pp.Block.ID()
	s := e.slotFor(pp.Seq)
	if prePrepareConflicts(s.hasPP, s.ppView, s.digest, pp.View, d) {
		if !s.reported {
			s.reported = true // one piece of evidence per (view, seq) is enough
			e.out.evidence = append(e.out.evidence, &types.DoubleSign{
				Kind: types.MsgPBFTPrePrepare, Signer: pp.Primary, View: pp.View, Seq: pp.Seq,
				DigestA: s.digest, SignatureA: s.ppSig, DigestB: d, SignatureB: pp.Signature,
			})
		}
		return fmt.Errorf("pre-prepare (%d, %d, %v): %w %v", pp.View, pp.Seq, d, ErrConflict, s.digest)
	}
	if s.hasPP && s.ppView == pp.View {
		e.blockArrived(pp.Block) // a resend: nothing new but perhaps the block
		return nil
	}
	e.acceptPrePrepare(s, pp.View, d, pp.Signature, pp.Block)
	e.fetchGap(pp.Seq)
	return nil
}

// acceptPrePrepare logs the pre-prepare (view, s.seq, d) and, on a backup,
// sends the matching prepare. block may be nil when a new-view named only
// the digest; it is fetched.
func (e *Engine) acceptPrePrepare(s *slot, view uint64, d types.BlockID, sig []byte, block *types.Block) {
	if s.hasPP && s.digest != d {
		delete(e.awaitingBlock, s.digest) // a later view replaced it
	}
	if !s.hasPP || s.ppView != view {
		s.reported = false
	}
	s.hasPP, s.ppView, s.digest, s.ppSig = true, view, d, sig
	s.commit, s.since = nil, e.now
	if block == nil {
		block = e.blocks[d]
	}
	s.block = block // nil until fetched; never a block of an earlier pre-prepare
	if block != nil {
		e.storeBlock(block)
	}
	e.dirty()
	if e.primary(view) != e.cfg.ID {
		e.sendVote(types.PhasePrepare, s.seq, d)
	}
	e.checkPrepared(s)
}

// checkPayloadLimits refuses a block larger than this replica would
// propose (Config.MaxTxs, MaxBytes): a faulty primary must not fill the
// log and the store with blocks of the global maximum size.
func (e *Engine) checkPayloadLimits(b *types.Block) error {
	size := 0
	for _, tx := range b.Txs {
		size += len(tx)
	}
	if len(b.Txs) > e.cfg.MaxTxs || size > e.cfg.MaxBytes {
		return fmt.Errorf("block of %d txs and %d bytes exceeds %d txs or %d bytes: %w", len(b.Txs), size, e.cfg.MaxTxs, e.cfg.MaxBytes, ErrTooLarge)
	}
	return nil
}

// sendVote broadcasts this replica's prepare or commit for the current view
// and counts it as its own.
func (e *Engine) sendVote(phase types.PBFTPhase, seq uint64, d types.BlockID) {
	v := e.vote(phase, seq, d)
	e.broadcast(v)
	e.countVote(v)
}

func (e *Engine) vote(phase types.PBFTPhase, seq uint64, d types.BlockID) *types.PBFTVote {
	return &types.PBFTVote{Phase: phase, View: e.view, Seq: seq, Digest: d, Replica: e.cfg.ID,
		Signature: e.sign(types.PBFTVoteSignBytes(e.cfg.ChainID, phase, e.view, seq, d))}
}

// onVote routes checkpoints, and counts prepares and commits of the current
// view inside the watermarks. Messages of other views are dropped (§4.2:
// "replicas only accept messages ... in their current view"); resends
// cover what a replica that was late to a view missed.
func (e *Engine) onVote(v *types.PBFTVote) error {
	if v.Phase == types.PhaseCheckpoint {
		return e.onCheckpoint(v)
	}
	if e.holdEarly(v.View, v) {
		return nil
	}
	switch {
	case e.changing || v.View != e.view:
		return fmt.Errorf("%v for view %d in view %d: %w", v.Phase, v.View, e.view, ErrWrongView)
	case !inWatermarks(v.Seq, e.low, e.cfg.WindowSize):
		return fmt.Errorf("%v for %d: %w", v.Phase, v.Seq, ErrOutOfWindow)
	case v.Phase == types.PhasePrepare && !prepareCounts(v.Replica, v.View, e.cfg.N):
		return fmt.Errorf("prepare from the primary %d: %w", v.Replica, ErrNotPrimary)
	}
	return e.countVote(v)
}

// countVote adds a prepare or commit to its collector, which counts each
// replica once per (view, seq) and only votes with equal digests together.
func (e *Engine) countVote(v *types.PBFTVote) error {
	col, quorums := e.prepares, e.prepQ
	if v.Phase == types.PhaseCommit {
		col, quorums = e.commits, e.commitQ
	}
	sl := qc.Slot{View: v.View, Seq: v.Seq}
	q, eq, err := col.Add(qc.SignedVote{Slot: sl, Digest: v.Digest, Signer: v.Replica, Sig: v.Signature})
	if eq != nil {
		e.out.evidence = append(e.out.evidence, eq.DoubleSign(types.MsgPBFTVote, v.Phase))
	}
	if err != nil || q == nil {
		return err
	}
	if quorums[sl] == nil {
		quorums[sl] = make(map[types.BlockID]*qc.Quorum)
	}
	quorums[sl][q.Digest] = q
	if s := e.log[v.Seq]; s != nil {
		if v.Phase == types.PhasePrepare {
			e.checkPrepared(s)
		} else {
			e.checkCommitted(s)
		}
	}
	return nil
}

// checkPrepared: prepared(m, v, n, i) holds once the replica logged the
// pre-prepare for (v, n, d) and 2f prepares from distinct backups that
// match it on view, sequence number and digest (§4.2). It then sends its
// commit.
func (e *Engine) checkPrepared(s *slot) {
	if e.changing || !s.hasPP || s.ppView != e.view || s.preparedIn(e.view) {
		return
	}
	q := e.prepQ[qc.Slot{View: e.view, Seq: s.seq}][s.digest]
	if q == nil {
		return
	}
	s.prepared = &types.PBFTPrepared{View: e.view, Seq: s.seq, Digest: s.digest, PrePrepareSignature: s.ppSig, Prepares: q.PBFTCert(types.PhasePrepare)}
	s.since = e.now
	e.dirty()
	e.sendVote(types.PhaseCommit, s.seq, s.digest)
	e.checkCommitted(s)
}

// checkCommitted: committed-local(m, v, n, i) holds once prepared(m, v, n,
// i) and the replica has 2f+1 commits from distinct replicas matching it
// on view, sequence number and digest (§4.2).
func (e *Engine) checkCommitted(s *slot) {
	if e.changing || !s.preparedIn(e.view) || s.commit != nil {
		return
	}
	q := e.commitQ[qc.Slot{View: e.view, Seq: s.seq}][s.prepared.Digest]
	if q == nil {
		return
	}
	s.commit = q.PBFTCert(types.PhaseCommit)
	if s.seq <= e.executed {
		// Decided again after a view change: it must be what executed.
		if cb, ok := e.recent[s.seq]; ok && cb.ID != s.prepared.Digest {
			e.halted = fmt.Errorf("pbft: %d decided again as %v after executing %v", s.seq, s.prepared.Digest, cb.ID)
		}
		return
	}
	e.execute()
}

// execute runs committed blocks in sequence order, never with a gap (§4.2):
// the next number executes once it is committed-local with its block at
// hand, or arrived from a peer with its commit certificate.
func (e *Engine) execute() {
	for e.halted == nil {
		next := e.executed + 1
		var b *types.Block
		var cert *types.PBFTCert
		if s := e.log[next]; s != nil && s.commit != nil && s.block != nil {
			b, cert = s.block, s.commit
		} else if c, ok := e.fetched[next]; ok {
			b, cert = c.block, c.commit
		} else {
			return
		}
		delete(e.fetched, next)
		e.commitBlock(b, cert)
	}
}

// commitBlock hands b to the driver, extends the history, and takes a
// checkpoint every K numbers (§4.3).
func (e *Engine) commitBlock(b *types.Block, cert *types.PBFTCert) {
	id := b.ID()
	seq := b.Height
	e.history = nextHistory(e.history, seq, id)
	e.executed = seq
	cb := types.CommittedBlock{ID: id, Block: b, Proof: encodeProof(cert, e.history)}
	e.out.committed = append(e.out.committed, cb)
	e.remember(cb)
	if !e.changing {
		e.idle = 0 // during a view change the timer counts from its quorum
	}
	if !e.changing && e.consecutiveVC > 0 {
		e.consecutiveVC = 0 // §4.5.2: a request executed in the new view
		e.dirty()
	}
	if e.catchUp != nil && seq == e.catchUp.target && !e.catchUp.digest.IsZero() && e.history != e.catchUp.digest {
		// f+1 replicas vouch for a different history.
		e.halted = fmt.Errorf("pbft: after state transfer to %d the history is %x, not the %x f+1 replicas vouched for", seq, e.history[:8], e.catchUp.digest[:8])
		return
	}
	if seq == e.low && e.stable != nil && e.history != e.stable.Digest {
		// A quorum's stable checkpoint says otherwise.
		e.halted = fmt.Errorf("pbft: history %x at %d differs from the stable checkpoint's %x", e.history[:8], seq, e.stable.Digest[:8])
		return
	}
	if seq%e.cfg.CheckpointInterval == 0 {
		e.takeCheckpoint(seq)
	}
	e.maybeRequestPayload()
}

// remember keeps a committed block, to tell a number decided again after
// a view change from one executed, and forgets those older than
// RetainCommitted.
func (e *Engine) remember(cb types.CommittedBlock) {
	h := cb.Block.Height
	e.recent[h] = cb
	if h > e.cfg.RetainCommitted {
		delete(e.recent, h-e.cfg.RetainCommitted)
	}
}
