package pbft

import "github.com/bftkit/bftkit/types"

// Tick advances the logical clock: the view-change timer (§4.5.2) and the
// resends that make up for lost messages.
func (e *Engine) Tick() {
	e.now++
	if e.halted != nil {
		return
	}
	e.idle++
	timeout := viewChangeTimeout(e.cfg.ViewChangeTicks, e.cfg.MaxViewChangeTicks, e.consecutiveVC)
	// Normal operation expects a block to execute every T ticks (the
	// primary proposes even when idle); a view change escalates only once
	// a quorum joined it.
	if e.idle >= timeout && (!e.changing || e.vcTimer) {
		e.startViewChange(e.view + 1)
		return
	}
	e.sinceResend++
	if e.sinceResend >= e.cfg.ResendTicks {
		e.sinceResend = 0
		e.resend()
	}
	e.retryCatchUp()
	e.retryBlocks()
}

// resend repeats what peers may have lost: the view-change while changing
// views; otherwise the pre-prepares, prepares and commits of numbers that
// have made no progress for ResendTicks, and the last checkpoint until it
// is stable. Numbers this replica already executed are resent too, until a
// stable checkpoint covers them, but only in a stalled view: one that has
// executed nothing for longer than the base view-change timeout, which
// only a backed-off timer allows. The replicas that did not execute them
// may need exactly this one's prepare and commit to reach 2f+1 (found by
// the simulator: with f replicas down, two that had executed numbers
// 61–68 before a view change stopped resending them in the new view, the
// other three never prepared them, and fewer than f+1 replicas could
// vouch for a checkpoint to fetch them from). Sent more eagerly, these
// resends cost every peer a signature check per vote: at every resend
// they halved PBFT's saturation, and gated on a mere ResendTicks of
// idleness they starved a loaded three-of-four cluster into view changes.
func (e *Engine) resend() {
	if e.changing {
		if e.myVC != nil {
			e.broadcast(e.myVC)
		}
		return
	}
	for _, seq := range e.sortedSeqs() {
		s := e.log[seq]
		if seq <= e.low || !s.hasPP || s.ppView != e.view || e.now-s.since < uint64(e.cfg.ResendTicks) {
			continue
		}
		if seq <= e.executed && e.idle < e.cfg.ViewChangeTicks {
			continue // not stalled: the others commit without it
		}
		e.resendSlot(s)
	}
	if last := e.executed - e.executed%e.cfg.CheckpointInterval; last > e.low && e.now-e.cpTakenAt >= uint64(e.cfg.ResendTicks) {
		if _, ok := e.cpDigests[last]; ok {
			e.broadcast(e.checkpointVote(last))
		}
	}
}

func (e *Engine) resendSlot(s *slot) {
	if e.primary(e.view) == e.cfg.ID {
		if s.block != nil {
			e.broadcast(&types.PBFTPrePrepare{View: e.view, Seq: s.seq, Block: s.block, Primary: e.cfg.ID, Signature: s.ppSig})
		}
	} else {
		e.broadcast(e.vote(types.PhasePrepare, s.seq, s.digest))
	}
	if s.preparedIn(e.view) {
		e.broadcast(e.vote(types.PhaseCommit, s.seq, s.digest))
	}
}
