package pbft

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/types"
)

// Paper-conformance tests for checkpoints and garbage collection,
// Castro-Liskov OSDI'99 §4.3.

// checkpointFrom is replica i's checkpoint for seq with digest d.
func (f *fixture) checkpointFrom(i types.ValidatorIndex, seq uint64, d types.BlockID) *types.PBFTVote {
	return f.vote(types.PhaseCheckpoint, 0, seq, d, i)
}

// §4.3: after executing a multiple of K a replica multicasts a checkpoint
// with the digest of its state (here the history digest).
func TestCheckpointEveryKNumbers(t *testing.T) {
	f := newFixture(t, 4, 3)
	for seq := uint64(1); seq <= 4; seq++ {
		f.commitSeq(seq)
	}
	cps := votesOf(f.sent(), types.PhaseCheckpoint)
	require.Len(t, cps, 1)
	require.Equal(t, uint64(4), cps[0].Seq)
	require.Equal(t, f.e.history, cps[0].Digest)
}

// §4.3: a checkpoint is stable with 2f+1 matching checkpoints from distinct
// replicas; then h moves to it and the log at and below it is discarded.
// Repeats of one replica and checkpoints with another digest do not count.
func TestStableCheckpointNeedsTwoFPlusOneDistinctMatching(t *testing.T) {
	f := newFixture(t, 4, 3)
	for seq := uint64(1); seq <= 4; seq++ {
		f.commitSeq(seq)
	}
	d := f.e.history
	require.NoError(t, f.step(f.checkpointFrom(1, 4, d)))
	require.NoError(t, f.step(f.checkpointFrom(1, 4, d)))
	require.NoError(t, f.step(f.checkpointFrom(2, 4, types.BlockID{9})))
	require.Equal(t, uint64(0), f.e.Status().LowWatermark, "own + 1 distinct matching")
	require.NoError(t, f.step(f.checkpointFrom(0, 4, d)))
	require.Equal(t, uint64(4), f.e.Status().LowWatermark)
	for seq := range f.e.log {
		require.Greater(t, seq, uint64(4), "log at or below h discarded")
	}
	require.NoError(t, checkStoredCerts(testVerifier(f), &types.PBFTSafety{}, mustSafety(t, f.safety)))
	require.ErrorIs(t, f.step(f.prePrepare(0, 4, "old")), ErrOutOfWindow, "h is now 4")
	require.NoError(t, f.step(f.prePrepare(0, 12, "new top")), "H is now 12")
}

// §4.3: a replica whose history differs from a quorum's stable checkpoint
// stops: it cannot be honest and right.
func TestStableCheckpointWithAnotherHistoryHalts(t *testing.T) {
	f := newFixture(t, 4, 3)
	for seq := uint64(1); seq <= 4; seq++ {
		f.commitSeq(seq)
	}
	other := types.BlockID{7}
	for _, i := range []types.ValidatorIndex{0, 1, 2} {
		_ = f.step(f.checkpointFrom(i, 4, other))
	}
	require.Error(t, f.e.Halted())
}

// §4.3: a replica that falls behind fetches committed blocks up to a
// checkpoint that f+1 replicas vouch for, each block with its commit
// certificate, and checks the history it computes against the checkpoint.
func TestLaggingReplicaFetchesUpToACheckpointVouchedByFPlusOne(t *testing.T) {
	ahead := newFixture(t, 4, 2)
	for seq := uint64(1); seq <= 4; seq++ {
		ahead.commitSeq(seq)
	}
	f := newFixture(t, 4, 3)
	d := ahead.e.history
	require.NoError(t, f.step(f.checkpointFrom(1, 4, d)))
	require.Empty(t, ofType[*types.BlockRequest](f.sent()), "one replica is not enough")
	require.NoError(t, f.step(f.checkpointFrom(2, 4, d)))
	fetches := ofType[*types.BlockRequest](f.sent())
	require.Len(t, fetches, 1)
	require.Equal(t, uint64(1), fetches[0].FromHeight)
	require.Equal(t, uint32(4), fetches[0].Count)

	// The answers are what a driver's block server sends from the store:
	// each committed block with the proof stored beside it.
	require.Len(t, ahead.committed, 4)
	v := testVerifier(f)
	for _, cb := range ahead.committed {
		r := &types.BlockResponse{Sender: 2, Block: cb.Block, Proof: cb.Proof}
		require.NoError(t, VerifyMessage(v, f.cfg.WindowSize, types.Message{From: 2, Payload: r}))
		require.NoError(t, f.step(r))
	}
	require.Equal(t, uint64(4), f.e.Status().Executed)
	require.Equal(t, d, f.e.history)
	require.NoError(t, f.e.Halted())
}

// A committed block fetched by height is trusted only through the commit
// certificate in its proof, for exactly that block: the gateway refuses a
// proof of another block, of another phase, or of too few replicas.
func TestFetchedCommittedBlockNeedsItsOwnCommitCertificate(t *testing.T) {
	ahead := newFixture(t, 4, 2)
	ahead.commitSeq(1)
	ahead.commitSeq(2)
	v := testVerifier(ahead)
	one, two := ahead.committed[0], ahead.committed[1]
	verify := func(b *types.Block, proof []byte) error {
		return VerifyMessage(v, ahead.cfg.WindowSize, types.Message{From: 2, Payload: &types.BlockResponse{Sender: 2, Block: b, Proof: proof}})
	}
	require.NoError(t, verify(one.Block, one.Proof))
	require.ErrorContains(t, verify(two.Block, one.Proof), "does not prove", "another block's certificate")
	weak, err := DecodeProof(one.Proof)
	require.NoError(t, err)
	weak.Commit.Signers, weak.Commit.Signatures = weak.Commit.Signers[:2], weak.Commit.Signatures[:2]
	data, err := weak.Marshal()
	require.NoError(t, err)
	require.Error(t, verify(one.Block, data), "two commits of four replicas prove nothing")
	require.Error(t, verify(one.Block, []byte("not a proof")))
}

// A replica that gets a pre-prepare for a number above a gap (it entered
// the view after the numbers below were ordered) fetches the committed
// blocks of the gap from the primary without waiting for a checkpoint,
// and executes them on their commit certificates.
func TestPrePrepareAboveAGapFetchesTheGap(t *testing.T) {
	ahead := newFixture(t, 4, 2)
	for seq := uint64(1); seq <= 3; seq++ {
		ahead.commitSeq(seq)
	}
	f := newFixture(t, 4, 3)
	require.NoError(t, f.step(f.prePrepare(0, 4, "d")))
	fetches := ofType[*types.BlockRequest](f.sent())
	require.Len(t, fetches, 1)
	require.Equal(t, uint64(1), fetches[0].FromHeight)
	require.Equal(t, uint32(3), fetches[0].Count)
	for _, cb := range ahead.committed {
		require.NoError(t, f.step(&types.BlockResponse{Sender: 0, Block: cb.Block, Proof: cb.Proof}))
	}
	require.Equal(t, uint64(3), f.e.Status().Executed)
	require.NoError(t, f.e.Halted())
}

// A pre-prepare beyond the window tells a replica it is behind by more
// than the window (a restart): it starts fetching committed blocks at once
// (the pre-prepare itself is refused), up to what it may buffer.
func TestPrePrepareBeyondTheWindowStartsAFetch(t *testing.T) {
	f := newFixture(t, 4, 3)
	far := f.cfg.WindowSize + 5
	require.ErrorIs(t, f.step(f.prePrepare(0, far, "far")), ErrOutOfWindow)
	fetches := ofType[*types.BlockRequest](f.sent())
	require.Len(t, fetches, 1)
	require.Equal(t, uint64(1), fetches[0].FromHeight)
	require.Equal(t, types.ValidatorIndex(3), fetches[0].Sender)
}
