package pbft

import (
	"fmt"

	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// This file is checkpoints and garbage collection (§4.3).

// takeCheckpoint broadcasts the history digest after seq and counts it.
func (e *Engine) takeCheckpoint(seq uint64) {
	e.cpDigests[seq] = e.history
	e.cpTakenAt = e.now
	e.broadcast(e.checkpointVote(seq))
	e.checkpoints.Add(qc.SignedVote{Slot: qc.Slot{Seq: seq}, Digest: e.history, Signer: e.cfg.ID,
		Sig: e.sign(types.PBFTVoteSignBytes(e.cfg.ChainID, types.PhaseCheckpoint, 0, seq, e.history))})
	e.checkStable()
}

func (e *Engine) checkpointVote(seq uint64) *types.PBFTVote {
	d := e.cpDigests[seq]
	return &types.PBFTVote{Phase: types.PhaseCheckpoint, Seq: seq, Digest: d, Replica: e.cfg.ID,
		Signature: e.sign(types.PBFTVoteSignBytes(e.cfg.ChainID, types.PhaseCheckpoint, 0, seq, d))}
}

// onCheckpoint counts a checkpoint of any number above the low watermark:
// one far ahead is how a lagging replica learns it lags. The tracker keeps
// a few per replica, so memory stays bounded.
func (e *Engine) onCheckpoint(v *types.PBFTVote) error {
	if v.Seq <= e.low {
		return fmt.Errorf("checkpoint %d at or below the stable checkpoint %d: %w", v.Seq, e.low, ErrOutOfWindow)
	}
	if v.Seq%e.cfg.CheckpointInterval != 0 {
		return fmt.Errorf("checkpoint %d is not a multiple of K = %d", v.Seq, e.cfg.CheckpointInterval)
	}
	e.checkpoints.Add(qc.SignedVote{Slot: qc.Slot{Seq: v.Seq}, Digest: v.Digest, Signer: v.Replica, Sig: v.Signature})
	e.checkStable()
	e.checkCatchUp()
	return nil
}

// checkStable makes the highest checkpoint with a quorum of matching
// digests stable (§4.3: "a checkpoint with a proof becomes stable").
func (e *Engine) checkStable() {
	cert := e.checkpoints.Stable(e.low)
	if cert == nil {
		return
	}
	if own, ok := e.cpDigests[cert.Seq]; ok && own != cert.Digest {
		// 2f+1 replicas executed a different history.
		e.halted = fmt.Errorf("pbft: own history %x at checkpoint %d differs from the %x 2f+1 replicas signed", own[:8], cert.Seq, cert.Digest[:8])
		return
	}
	e.makeStable(cert)
}

// makeStable moves the low watermark to cert's number and discards the log,
// certificates and counters at and below it. A replica that has not
// executed that far fetches the blocks it lacks: the quorum proves the
// history they must produce.
func (e *Engine) makeStable(cert *types.PBFTCert) {
	e.stable, e.low = cert, cert.Seq
	for seq, s := range e.log {
		if seq <= e.low {
			delete(e.log, seq)
			if s.block != nil {
				delete(e.blocks, s.digest)
			}
		}
	}
	for id, b := range e.blocks {
		if b.Height <= e.low {
			delete(e.blocks, id)
		}
	}
	for id, f := range e.awaitingBlock {
		if f.seq <= e.low {
			delete(e.awaitingBlock, id)
		}
	}
	for seq := range e.cpDigests {
		if seq < e.low {
			delete(e.cpDigests, seq)
		}
	}
	pruneQuorums(e.prepQ, e.view, e.low)
	pruneQuorums(e.commitQ, e.view, e.low)
	e.prepares.PruneBelow(e.view, e.low+1)
	e.commits.PruneBelow(e.view, e.low+1)
	e.checkpoints.PruneBelow(e.low)
	e.dirty()
	if e.executed < e.low {
		e.startCatchUp(e.low, cert.Digest, cert.Signers)
	}
	e.maybeRequestPayload()
}

// pruneQuorums drops quorums of older views or of numbers at or below low.
func pruneQuorums(m map[qc.Slot]map[types.BlockID]*qc.Quorum, view, low uint64) {
	for s := range m {
		if s.View < view || s.Seq <= low {
			delete(m, s)
		}
	}
}

// checkCatchUp starts fetching when f+1 replicas vouch for a checkpoint
// above what this replica executed (§4.3: a replica that falls behind
// trusts a checkpoint only with f+1 matching).
func (e *Engine) checkCatchUp() {
	seq, digest, signers, ok := e.checkpoints.Trusted(e.executed)
	if !ok || (e.catchUp != nil && e.catchUp.target >= seq) {
		return
	}
	e.startCatchUp(seq, digest, signers)
}
