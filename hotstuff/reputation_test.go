package hotstuff

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/types"
)

// The reputation tests build chains by hand: each block names its
// proposer, the signers of the QC it carries (on its parent) and the
// leaders of the views it skipped. Four validators, quorum three; an
// active window of 8 blocks and a failure window of 32.

const (
	testActive = 8
	testFailed = 32
)

var everyone = []types.ValidatorIndex{0, 1, 2, 3}

type testChain struct {
	n      int
	blocks map[types.BlockID]*types.Block
	tip    *types.Block
}

func newTestChain(n int) *testChain {
	return &testChain{n: n, blocks: map[types.BlockID]*types.Block{}, tip: genesis}
}

func (c *testChain) lookup(id types.BlockID) (*types.Block, bool) {
	if id.IsZero() {
		return genesis, true
	}
	b, ok := c.blocks[id]
	return b, ok
}

// add appends a block by proposer whose QC on the parent is signed by
// signers, skipping one view per failed leader.
func (c *testChain) add(proposer types.ValidatorIndex, signers []types.ValidatorIndex, failed ...types.ValidatorIndex) *types.Block {
	p := c.tip
	var pid types.BlockID // genesis is the zero ID
	if p.Height > 0 {
		pid = p.ID()
	}
	bm := types.NewBitmap(c.n)
	for _, s := range signers {
		bm.Set(s)
	}
	b := &types.Block{Height: p.Height + 1, View: p.View + 1 + uint64(len(failed)), ParentID: pid,
		Justify: &types.QuorumCert{View: p.View, BlockID: pid, Signers: bm}, Proposer: proposer, FailedLeaders: failed}
	c.blocks[b.ID()] = b
	c.tip = b
	return b
}

// addN appends k blocks, proposers taken in turn from proposers, every QC
// signed by signers.
func (c *testChain) addN(k int, proposers, signers []types.ValidatorIndex) {
	for i := range k {
		c.add(proposers[i%len(proposers)], signers)
	}
}

// at is the block of height h on the chain to the tip.
func (c *testChain) at(h uint64) *types.Block {
	b := c.tip
	for b.Height > h {
		b, _ = c.lookup(b.ParentID)
	}
	return b
}

func (c *testChain) reputation() *reputation {
	return &reputation{n: c.n, quorum: types.QuorumSize(c.n), active: testActive, failed: testFailed,
		block: c.lookup, cache: map[types.BlockID][]types.ValidatorIndex{}}
}

// candidatesAt are the candidates with the block of height h as anchor.
func (c *testChain) candidatesAt(h uint64) []types.ValidatorIndex {
	return c.reputation().candidates(c.at(h), true)
}

// Rule: a validator that neither proposed nor signed a QC in the last
// ActiveWindow blocks (up to and including the anchor) is not a candidate.
func TestReputationDropsValidatorAbsentFromActiveWindow(t *testing.T) {
	c := newTestChain(4)
	c.addN(10, everyone, everyone)                 // heights 1..10: everyone works
	c.addN(testActive, everyone[:3], everyone[:3]) // heights 11..18: 3 is gone
	require.Equal(t, everyone, c.candidatesAt(17), "height 10's QC, signed by 3, is still in the window")
	require.Equal(t, everyone[:3], c.candidatesAt(18), "3 is absent from all of the last 8 blocks")
}

// Rule: a validator that drops out returns as soon as it signs a QC again
// (proposing is not needed).
func TestReputationReturnsValidatorThatSignsAgain(t *testing.T) {
	c := newTestChain(4)
	c.addN(10, everyone, everyone)
	c.addN(2*testActive, everyone[:3], everyone[:3])
	require.Equal(t, everyone[:3], c.candidatesAt(c.tip.Height))
	c.add(0, []types.ValidatorIndex{0, 1, 3})
	require.Equal(t, everyone, c.candidatesAt(c.tip.Height), "3 signed the QC in the anchor")
}

// Rule (markFailures): failed leaders are read in runs of one leader; a
// run is blamed on its leader if it spans two views or is the last run. A
// lone skipped view followed by another leader's is not blamed on its own
// leader: the next leader, which was to aggregate its votes, is blamed
// instead, through its own run.
func TestBlameRule(t *testing.T) {
	for _, tc := range []struct {
		name   string
		failed []types.ValidatorIndex
		want   map[types.ValidatorIndex]int
	}{
		{"nothing skipped", nil, map[types.ValidatorIndex]int{}},
		{"the last skipped view is blamed", []types.ValidatorIndex{2}, map[types.ValidatorIndex]int{2: 1}},
		{"a lone view before another leader's blames the later leader", []types.ValidatorIndex{1, 2}, map[types.ValidatorIndex]int{2: 1}},
		{"a run of two blames its leader once", []types.ValidatorIndex{1, 1}, map[types.ValidatorIndex]int{1: 1}},
		{"a run of two, then the last", []types.ValidatorIndex{1, 1, 2}, map[types.ValidatorIndex]int{1: 1, 2: 1}},
		{"a run of three counts once", []types.ValidatorIndex{3, 3, 3}, map[types.ValidatorIndex]int{3: 1}},
		// Three lone views: only the last is blamed, although a single
		// faulty validator (2 or 3) cannot explain the first (leader 1,
		// aggregator 2) and the last (leader 3) at once.
		{"of three lone views only the last is blamed", []types.ValidatorIndex{1, 2, 3}, map[types.ValidatorIndex]int{3: 1}},
		{"out-of-range indices are ignored", []types.ValidatorIndex{9}, map[types.ValidatorIndex]int{}},
	} {
		r := newTestChain(4).reputation()
		s := make([]standing, 4)
		r.markFailures(s, &types.Block{Height: 7, FailedLeaders: tc.failed})
		for i := range s {
			want := tc.want[types.ValidatorIndex(i)]
			require.Equal(t, want, s[i].failures, "%s: failures of %d", tc.name, i)
			if want > 0 {
				require.Equal(t, uint64(7), s[i].lastFailed, "%s: the failure is dated by the recording block", tc.name)
			}
		}
	}
}

// Rule (excluded): a first failure excludes for ActiveWindow blocks after
// the block that records it; then the validator, still signing, is back.
func TestFirstFailureExcludesForActiveWindow(t *testing.T) {
	c := newTestChain(4)
	c.addN(10, everyone, everyone)
	failedAt := c.add(0, everyone, 2).Height // 2's view was skipped
	c.addN(testActive, []types.ValidatorIndex{0, 1, 3}, everyone)
	for h := failedAt; h < failedAt+testActive; h++ {
		require.Equal(t, []types.ValidatorIndex{0, 1, 3}, c.candidatesAt(h), "anchor height %d", h)
	}
	require.Equal(t, everyone, c.candidatesAt(failedAt+testActive))
}

// Rule (excluded): a second failure while the first is still in the
// failure window excludes while both are in it, i.e. until FailureWindow
// blocks after the FIRST failure (at least ActiveWindow after the second).
// Note that this is not "FailureWindow blocks after the repeat", as the
// comment on excluded and the commit introducing it say: a repeat just
// before the first failure leaves the window is excluded for only
// ActiveWindow blocks.
func TestRepeatedFailureExcludesUntilTheFirstLeavesTheFailureWindow(t *testing.T) {
	c := newTestChain(4)
	c.addN(10, everyone, everyone)
	first := c.add(0, everyone, 2).Height                 // height 11
	c.addN(13, []types.ValidatorIndex{0, 1, 3}, everyone) // heights 12..24
	second := c.add(0, everyone, 2).Height                // height 25
	c.addN(2*testFailed, []types.ValidatorIndex{0, 1, 3}, everyone)
	require.Equal(t, uint64(25), second)
	withoutTwo := []types.ValidatorIndex{0, 1, 3}
	for h := second; h < first+testFailed; h++ {
		require.Equal(t, withoutTwo, c.candidatesAt(h), "anchor height %d: two failures in the window", h)
	}
	require.Greater(t, first+testFailed, second+testActive, "longer than a first failure's exclusion")
	require.Equal(t, everyone, c.candidatesAt(first+testFailed),
		"the first failure left the window: one failure, %d blocks old, no longer excludes", first+testFailed-second)
	require.Less(t, first+testFailed, second+testFailed, "so a repeat is not excluded for a whole FailureWindow")

	// A repeat close to the end of the first failure's window is excluded
	// for the active window only.
	c = newTestChain(4)
	c.addN(10, everyone, everyone)
	first = c.add(0, everyone, 2).Height
	c.addN(testFailed-3, []types.ValidatorIndex{0, 1, 3}, everyone)
	second = c.add(0, everyone, 2).Height // first+FailureWindow-2
	c.addN(testFailed, []types.ValidatorIndex{0, 1, 3}, everyone)
	require.Equal(t, withoutTwo, c.candidatesAt(second+testActive-1))
	require.Equal(t, everyone, c.candidatesAt(second+testActive))
}

// Rule (elect): the candidates never drop below 2f+1. The top-up takes
// active excluded validators before inactive ones, the longest-ago
// failure first, then by index.
func TestCandidatesNeverBelowQuorum(t *testing.T) {
	// Active before inactive: 1 is inactive (no failures), 3 is active
	// but excluded; 3 fills the one free place.
	c := newTestChain(4)
	c.addN(testActive, everyone, everyone)
	c.add(0, []types.ValidatorIndex{0, 2, 3}, 3) // height 9: 3 excluded up to 16
	c.addN(testActive-1, []types.ValidatorIndex{0, 2}, []types.ValidatorIndex{0, 2, 3})
	require.Equal(t, []types.ValidatorIndex{0, 2, 3}, c.candidatesAt(c.tip.Height))

	// Longest-ago failure first: 2 failed before 1, both active and
	// excluded; 2 fills the one free place although 1 has the lower index.
	c = newTestChain(4)
	c.addN(testActive, everyone, everyone)
	c.add(0, everyone, 2)
	c.add(3, everyone, 1)
	c.addN(3, []types.ValidatorIndex{0, 3}, everyone)
	require.Equal(t, []types.ValidatorIndex{0, 2, 3}, c.candidatesAt(c.tip.Height))

	// By index when nothing else differs: 1, 2 and 3 are all inactive.
	c = newTestChain(4)
	c.addN(2*testActive, []types.ValidatorIndex{0}, []types.ValidatorIndex{0})
	require.Equal(t, []types.ValidatorIndex{0, 1, 2}, c.candidatesAt(c.tip.Height))

	// Everyone excluded: still a quorum, the oldest failures.
	c = newTestChain(4)
	c.addN(testActive, everyone, everyone)
	for _, l := range []types.ValidatorIndex{3, 1, 0, 2} {
		c.add((l+1)%4, everyone, l)
	}
	require.Equal(t, []types.ValidatorIndex{0, 1, 3}, c.candidatesAt(c.tip.Height), "2 failed last")
}

// Near genesis, before ActiveWindow blocks exist, everyone counts as
// active, signing or not.
func TestYoungChainCountsEveryoneActive(t *testing.T) {
	c := newTestChain(4)
	c.addN(testActive-1, []types.ValidatorIndex{0}, []types.ValidatorIndex{0})
	require.Equal(t, everyone, c.candidatesAt(c.tip.Height))
}
