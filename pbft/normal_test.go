package pbft

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/types"
)

// Paper-conformance tests for the normal case, Castro-Liskov OSDI'99 §4.2,
// one rule each. The replica under test is a backup (3 of 4) unless said.

// §4.1: the primary of view v is v mod |R|.
func TestPrimaryIsViewModN(t *testing.T) {
	require.Equal(t, types.ValidatorIndex(0), Primary(0, 4))
	require.Equal(t, types.ValidatorIndex(3), Primary(7, 4))
	require.Equal(t, types.ValidatorIndex(2), Primary(9, 7))
}

// §4.2: a backup accepts a pre-prepare and multicasts a prepare with the
// same view, number and digest.
func TestAcceptedPrePrepareIsAnsweredWithMatchingPrepare(t *testing.T) {
	f := newFixture(t, 4, 3)
	pp := f.prePrepare(0, 1, "a")
	require.NoError(t, f.step(pp))
	prepares := votesOf(f.sent(), types.PhasePrepare)
	require.Len(t, prepares, 1)
	require.Equal(t, uint64(0), prepares[0].View)
	require.Equal(t, uint64(1), prepares[0].Seq)
	require.Equal(t, pp.Block.ID(), prepares[0].Digest)
}

// §4.2: "the replica is in view v": a pre-prepare of another view is
// refused (one of the next view is held: see
// TestPrePrepareOfTheNextViewWaitsForItsNewView).
func TestPrePrepareOfAnotherViewIsRefused(t *testing.T) {
	f := newFixture(t, 4, 3)
	require.ErrorIs(t, f.step(f.prePrepare(2, 1, "a")), ErrWrongView)
	require.Empty(t, f.sent())
}

// §4.2: the pre-prepare must come from the primary of its view.
func TestPrePrepareFromABackupIsRefused(t *testing.T) {
	f := newFixture(t, 4, 3)
	pp := f.prePrepare(0, 1, "a")
	pp.Primary, pp.Block.Proposer = 2, 2
	require.ErrorIs(t, f.step(pp), ErrNotPrimary)
}

// §4.2: "it has not accepted a pre-prepare for view v and sequence number
// n containing a different digest"; the second one is evidence.
func TestSecondPrePrepareWithAnotherDigestIsRefusedAsEvidence(t *testing.T) {
	f := newFixture(t, 4, 3)
	require.NoError(t, f.step(f.prePrepare(0, 1, "a")))
	f.sent()
	require.ErrorIs(t, f.step(f.prePrepare(0, 1, "b")), ErrConflict)
	require.Empty(t, votesOf(f.sent(), types.PhasePrepare), "no prepare for the second digest")
	require.Len(t, f.evidence, 1)
	require.Equal(t, types.MsgPBFTPrePrepare, f.evidence[0].Kind)
	require.NoError(t, f.step(f.prePrepare(0, 1, "a")), "a resend of the accepted one is fine")
}

// §4.2: watermarks h < n ≤ H = h + L. With h = 0 and L = 8: n = h is
// refused, n = h + L is accepted, n = h + L + 1 is refused.
func TestWatermarkEdges(t *testing.T) {
	f := newFixture(t, 4, 3)
	low, window := f.e.Status().LowWatermark, f.cfg.WindowSize
	require.Equal(t, uint64(0), low)
	require.ErrorIs(t, f.step(f.vote(types.PhasePrepare, 0, low, types.BlockID{1}, 1)), ErrOutOfWindow, "n = h")
	require.NoError(t, f.step(f.prePrepare(0, low+window, "top")), "n = h + L")
	require.ErrorIs(t, f.step(f.prePrepare(0, low+window+1, "above")), ErrOutOfWindow, "n = h + L + 1")
}

// §4.2: prepared = the pre-prepare plus 2f prepares from distinct backups
// matching it. One is not enough, a repeat of one replica does not count,
// the primary's does not count, a different digest does not count.
func TestPreparedNeedsTwoFMatchingPreparesFromDistinctBackups(t *testing.T) {
	f := newFixture(t, 4, 3)
	pp := f.prePrepare(0, 1, "a")
	require.NoError(t, f.step(pp))
	d := pp.Block.ID()
	f.sent()
	f.votes(types.PhasePrepare, 0, 1, types.BlockID{9}, 1) // another digest: replica 1 is spent on it
	require.ErrorIs(t, f.step(f.vote(types.PhasePrepare, 0, 1, d, 0)), ErrNotPrimary, "the primary's prepare")
	f.votes(types.PhasePrepare, 0, 1, d, 1) // second vote of replica 1: not counted
	require.Empty(t, votesOf(f.sent(), types.PhaseCommit), "prepared with own prepare only")
	f.votes(types.PhasePrepare, 0, 1, d, 2)
	commits := votesOf(f.sent(), types.PhaseCommit)
	require.Len(t, commits, 1, "own + replica 2 = 2f prepares: prepared, commit sent")
	require.Equal(t, d, commits[0].Digest)
}

// §4.2: committed-local = prepared plus 2f+1 commits from distinct replicas
// matching on view, number and digest; then the block executes.
func TestCommittedLocalNeedsTwoFPlusOneMatchingCommits(t *testing.T) {
	f := newFixture(t, 4, 3)
	pp := f.prePrepare(0, 1, "a")
	require.NoError(t, f.step(pp))
	d := pp.Block.ID()
	f.votes(types.PhasePrepare, 0, 1, d, 1, 2)
	f.votes(types.PhaseCommit, 0, 1, types.BlockID{9}, 0) // another digest
	f.votes(types.PhaseCommit, 0, 1, d, 0, 1)             // 0 again: not counted
	require.Empty(t, f.committed, "own + 1 matching commit")
	f.votes(types.PhaseCommit, 0, 1, d, 2)
	require.Len(t, f.committed, 1)
	require.Equal(t, d, f.committed[0].ID)
	require.NoError(t, checkCommitProof(testVerifier(f), f.committed[0]))
}

// §4.2: commits arriving before the replica prepared do not commit it.
func TestCommitsBeforePreparedDoNotCommit(t *testing.T) {
	f := newFixture(t, 4, 3)
	pp := f.prePrepare(0, 1, "a")
	d := pp.Block.ID()
	f.votes(types.PhaseCommit, 0, 1, d, 0, 1, 2)
	require.NoError(t, f.step(pp))
	require.Empty(t, f.committed, "not prepared yet")
	f.votes(types.PhasePrepare, 0, 1, d, 1, 2)
	require.Len(t, f.committed, 1, "prepared now, and the commits were kept")
}

// §4.2: execution in sequence order, never with a gap.
func TestExecutionWaitsForLowerNumbers(t *testing.T) {
	f := newFixture(t, 4, 3)
	d2 := f.commitSeq(2)
	require.Empty(t, f.committed, "2 is committed-local but 1 is not")
	d1 := f.commitSeq(1)
	require.Len(t, f.committed, 2)
	require.Equal(t, []types.BlockID{d1, d2}, []types.BlockID{f.committed[0].ID, f.committed[1].ID})
}

// The primary's pipeline: it assigns consecutive numbers, at most
// MaxInFlight unexecuted, and never beyond H.
func TestPrimaryAssignsConsecutiveNumbersInsideTheWindow(t *testing.T) {
	f := newFixture(t, 4, 0)
	pps := ofType[*types.PBFTPrePrepare](f.sent())
	require.Len(t, pps, int(f.cfg.WindowSize), "a window of pre-prepares (MaxInFlight = L here)")
	for k, pp := range pps {
		require.Equal(t, uint64(k+1), pp.Seq)
	}
}

// A PBFT block names no parent: blocks are ordered by sequence number, and
// a view change may put a null block where no parent could be named.
func TestPrePrepareWithAParentIsRefused(t *testing.T) {
	f := newFixture(t, 4, 3)
	pp := f.prePrepare(0, 1, "a")
	pp.Block.ParentID = types.BlockID{1}
	pp.Block.ForgetID() // changed after signing: hash it again
	pp.Signature = f.sign(0, types.PrePrepareSignBytes(testChain, 0, 1, pp.Block.ID()))
	require.ErrorIs(t, f.step(pp), ErrHasParent)
	require.Empty(t, f.sent())
}

// A replica that executed a number resends its prepare and commit for it,
// in a stalled view, until a stable checkpoint covers it: after a view
// change, the replicas that did not execute it may need exactly these to
// reach 2f+1 (the simulator's seed 93 at n = 7 stalled without). While the
// view is not stalled, it does not: the resends cost every peer a
// signature check per vote.
func TestExecutedNumbersAreResentUntilStable(t *testing.T) {
	f := newFixture(t, 4, 3)
	d := f.commitSeq(1)
	require.Equal(t, uint64(1), f.e.Status().Executed)
	f.sent()
	f.tick(f.cfg.ResendTicks)
	for _, v := range ofType[*types.PBFTVote](f.sent()) {
		require.NotEqual(t, uint64(1), v.Seq, "not stalled yet: executed numbers are not resent")
	}
	// A stalled view: a backed-off view-change timer (as after a view
	// change in which nothing new executed) lets the view run longer than
	// the base timeout without executing.
	f.e.consecutiveVC = 1
	f.tick(f.cfg.ViewChangeTicks - f.cfg.ResendTicks)
	var prepares, commits int
	for _, v := range ofType[*types.PBFTVote](f.sent()) {
		if v.Seq == 1 && v.Digest == d && v.View == 0 {
			switch v.Phase {
			case types.PhasePrepare:
				prepares++
			case types.PhaseCommit:
				commits++
			}
		}
	}
	require.Equal(t, 1, prepares, "the executed number's prepare, again")
	require.Equal(t, 1, commits, "and its commit")

	for seq := uint64(2); seq <= f.cfg.CheckpointInterval; seq++ {
		f.commitSeq(seq)
	}
	h := f.e.history
	for _, i := range []types.ValidatorIndex{0, 1} { // with its own, 2f+1
		require.NoError(t, f.step(f.checkpointFrom(i, f.cfg.CheckpointInterval, h)))
	}
	require.Equal(t, f.cfg.CheckpointInterval, f.e.Status().LowWatermark, "stable")
	f.sent()
	f.tick(f.cfg.ResendTicks)
	for _, v := range ofType[*types.PBFTVote](f.sent()) {
		require.Equal(t, types.PhaseCheckpoint, v.Phase, "nothing below a stable checkpoint is resent")
	}
}
