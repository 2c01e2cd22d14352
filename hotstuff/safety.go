package hotstuff

import (
	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// This file holds every safety rule, one function per rule. Each takes the
// state it needs as arguments so that it can be table-tested alone.

// qcView is the view of a QC; nil stands for the genesis QC (view 0).
func qcView(qc *types.QuorumCert) uint64 { return qc.GetView() }

// qcBlock is the block a QC certifies; nil stands for genesis (the zero ID).
func qcBlock(qc *types.QuorumCert) types.BlockID {
	if qc == nil {
		return types.BlockID{}
	}
	return qc.BlockID
}

// safeToVote is the voting rule of chained HotStuff (PODC'19 Alg. 3,
// safeNode; Alg. 4, onReceiveProposal) with the Jolteon timeout rule
// (DiemBFT v4 §4, safe_to_vote): a replica votes for block b in view v only
// if
//   - v is above the last view it voted in (at most one vote per view),
//   - it has not timed out of v (a timeout is a promise not to vote in v),
//   - and b extends its locked block, or b's justify QC is newer than its
//     lock (liveness: the lock was from a branch a quorum abandoned).
func safeToVote(v, lastVoted, timeoutView uint64, extendsLocked bool, justifyView, lockedView uint64) bool {
	if v <= lastVoted || v <= timeoutView {
		return false
	}
	return extendsLocked || justifyView > lockedView
}

// validProposalJustification is the Jolteon proposal rule (DiemBFT v4 §4,
// is_valid_proposal): a block proposed in view v is justified either by a
// QC of view v−1 (the happy path), or by a TC of view v−1 together with a
// QC at least as high as the highest QC any TC signer reported, so that the
// new leader cannot abandon a block that a quorum may have locked.
func validProposalJustification(v, justifyView uint64, tc *types.TimeoutCert) bool {
	if justifyView+1 == v {
		return true
	}
	return tc != nil && tc.View+1 == v && justifyView >= tc.HighestQCView()
}

// shouldLock is the locking rule (PODC'19 Alg. 3: "if b'.height >
// b_lock.height then b_lock ← b'"): on a QC for b”, lock on b' = the block
// b” justifies, the head of the two-chain b' ← b”, if it is newer than
// the current lock.
func shouldLock(twoChainHeadView, lockedView uint64) bool {
	return twoChainHeadView > lockedView
}

// ChainLink is one block of a candidate three-chain: its view and the IDs
// of itself and its parent.
type ChainLink struct {
	ID, Parent types.BlockID
	View       uint64
}

// commitsThreeChain is the commit rule (PODC'19 Alg. 3: "if b”.parent = b'
// ∧ b'.parent = b then onCommit(b)"), with the refinement that the views
// be consecutive (LibraBFT §5.3 "contiguous rounds"): on a QC for b2, the
// block b0 is committed when b0 ← b1 ← b2 are direct parents AND
// b1.view = b0.view+1 and b2.view = b1.view+1. Without consecutive views a
// quorum could lock a conflicting block in a skipped view (relab/hotstuff
// shipped that bug in 2025).
func commitsThreeChain(b0, b1, b2 ChainLink) bool {
	direct := b2.Parent == b1.ID && b1.Parent == b0.ID
	consecutive := b1.View == b0.View+1 && b2.View == b1.View+1
	return direct && consecutive
}

// VoteCollector gathers votes into quorums (qc.Collector in production).
type VoteCollector interface {
	Add(v qc.SignedVote) (*qc.Quorum, *qc.Equivocation, error)
	PruneBelow(view, seq uint64)
}

// Rules are the decisions the safety of the protocol rests on. A zero
// field means the paper's rule above; canary tests replace one with a
// deliberately broken version to prove that the simulator catches it.
type Rules struct {
	SafeToVote func(v, lastVoted, timeoutView uint64, extendsLocked bool, justifyView, lockedView uint64) bool
	// ValidJustification is the voters' check of a proposal's QC and TC
	// (leaders always apply the paper's rule to their own proposals).
	ValidJustification func(v, justifyView uint64, tc *types.TimeoutCert) bool
	CommitsThreeChain  func(b0, b1, b2 ChainLink) bool
	NewVoteCollector   func(qc.CollectorConfig) VoteCollector
}

// withDefaults fills every unset rule with the paper's.
func (r Rules) withDefaults() Rules {
	if r.SafeToVote == nil {
		r.SafeToVote = safeToVote
	}
	if r.ValidJustification == nil {
		r.ValidJustification = validProposalJustification
	}
	if r.CommitsThreeChain == nil {
		r.CommitsThreeChain = commitsThreeChain
	}
	if r.NewVoteCollector == nil {
		r.NewVoteCollector = func(c qc.CollectorConfig) VoteCollector { return qc.NewCollector(c) }
	}
	return r
}
