package hotstuff

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/types"
)

// PODC'19 Alg. 3 (safeNode) with DiemBFT v4 §4 (safe_to_vote).
func TestSafeToVote(t *testing.T) {
	cases := []struct {
		name                      string
		v, lastVoted, timeoutView uint64
		extendsLocked             bool
		justifyView, lockedView   uint64
		want                      bool
	}{
		{"extends the lock", 5, 4, 0, true, 4, 3, true},
		{"newer justify unlocks (liveness)", 5, 4, 0, false, 4, 3, true},
		{"conflicts with the lock and justify not newer", 5, 4, 0, false, 3, 3, false},
		{"justify older than the lock", 5, 4, 0, false, 2, 3, false},
		{"one vote per view", 5, 5, 0, true, 4, 3, false},
		{"never vote in a past view", 5, 6, 0, true, 4, 3, false},
		{"no vote after timing out of the view", 5, 4, 5, true, 4, 3, false},
		{"a timeout of an earlier view does not block", 5, 4, 4, true, 4, 3, true},
	}
	for _, c := range cases {
		got := safeToVote(c.v, c.lastVoted, c.timeoutView, c.extendsLocked, c.justifyView, c.lockedView)
		require.Equal(t, c.want, got, c.name)
	}
}

// DiemBFT v4 §4 (is_valid_proposal) / Jolteon: a proposal of view v needs
// the QC of v−1, or the TC of v−1 and a QC at least its highest.
func TestValidProposalJustification(t *testing.T) {
	tc := func(view uint64, hqv ...uint64) *types.TimeoutCert {
		return &types.TimeoutCert{View: view, HighQcViews: hqv}
	}
	require.True(t, validProposalJustification(7, 6, nil), "QC of the previous view")
	require.False(t, validProposalJustification(7, 5, nil), "stale QC without a TC")
	require.True(t, validProposalJustification(7, 5, tc(6, 5, 4, 3)), "TC of v−1 and a QC at its highest")
	require.False(t, validProposalJustification(7, 4, tc(6, 5, 4, 3)), "QC below the TC's highest: would abandon a locked block")
	require.False(t, validProposalJustification(7, 5, tc(5, 5, 4, 3)), "TC of the wrong view")
	require.True(t, validProposalJustification(1, 0, nil), "the first view extends genesis")
}

// PODC'19 Alg. 3: lock on b' (the block b” justifies) when it is newer.
func TestShouldLock(t *testing.T) {
	require.True(t, shouldLock(5, 4))
	require.False(t, shouldLock(4, 4), "equal is no newer")
	require.False(t, shouldLock(3, 4), "the lock never goes back")
}

// PODC'19 Alg. 3 (b”.parent = b' ∧ b'.parent = b) with consecutive views
// (LibraBFT §5.3).
func TestCommitsThreeChain(t *testing.T) {
	id := func(b byte) types.BlockID { return types.BlockID{b} }
	b0 := ChainLink{ID: id(1), Parent: id(0), View: 4}
	b1 := ChainLink{ID: id(2), Parent: id(1), View: 5}
	b2 := ChainLink{ID: id(3), Parent: id(2), View: 6}
	require.True(t, commitsThreeChain(b0, b1, b2))
	gap := b2
	gap.View = 7
	require.False(t, commitsThreeChain(b0, b1, gap), "a skipped view between b1 and b2")
	gap0 := b0
	gap0.View = 3
	require.False(t, commitsThreeChain(gap0, b1, b2), "a skipped view between b0 and b1")
	indirect := b2
	indirect.Parent = id(9)
	require.False(t, commitsThreeChain(b0, b1, indirect), "b2's parent is not b1")
}

func TestRoundRobinGivesEachLeaderConsecutiveViews(t *testing.T) {
	r := RoundRobin{N: 4, ViewsPerLeader: 2}
	var got []types.ValidatorIndex
	for v := uint64(0); v < 10; v++ {
		got = append(got, r.Leader(v))
	}
	require.Equal(t, []types.ValidatorIndex{0, 0, 1, 1, 2, 2, 3, 3, 0, 0}, got)
}
