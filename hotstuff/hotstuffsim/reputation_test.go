package hotstuffsim_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/hotstuff"
	"github.com/bftkit/bftkit/hotstuff/hotstuffsim"
	"github.com/bftkit/bftkit/testnet/sim"
	"github.com/bftkit/bftkit/types"
)

// The seeded runs with the whole Byzantine catalogue already run with
// reputation (hotstuffsim's default election): see
// TestSeededRunsWithFaultsAndByzantineNodes, whose seed count
// BFTKIT_SIM_SEEDS sets for both n=4 and n=7 (about 1.4 s per 100 seeds
// at n=4 and 3.2 s at n=7 on one core). It is not repeated here.

func withElection(el hotstuff.Election) *sim.Protocol {
	return hotstuffsim.Protocol(hotstuffsim.Options{Mutate: func(c *hotstuff.Config) { c.Election = el }})
}

func calmSim(t *testing.T, p *sim.Protocol, n int, seed uint64) *sim.Sim {
	t.Helper()
	cfg := sim.DefaultConfig(p, n, seed)
	cfg.Faults = sim.Profiles["none"](seed)
	s, err := sim.New(cfg)
	require.NoError(t, err)
	return s
}

// ticksPerBlock runs n nodes in a calm network, crashes the given nodes
// at height 5, lets the election see the crash for 50 blocks, then
// measures ticks per committed block over the next 200.
func ticksPerBlock(t *testing.T, p *sim.Protocol, n int, seed uint64, crash ...types.ValidatorIndex) float64 {
	t.Helper()
	s := calmSim(t, p, n, seed)
	require.NoError(t, s.RunUntilHeight(5, 500))
	var live []types.ValidatorIndex
	for i := range n {
		if !slices.Contains(crash, types.ValidatorIndex(i)) {
			live = append(live, types.ValidatorIndex(i))
		}
	}
	for _, i := range crash {
		s.Crash(i)
	}
	require.NoError(t, s.RunUntilHeight(s.MaxHonestHeight()+50, 100000, live...))
	t0, h0 := s.Now(), s.MaxHonestHeight()
	require.NoError(t, s.RunUntilHeight(h0+200, 200000, live...))
	return float64(s.Now()-t0) / float64(s.MaxHonestHeight()-h0)
}

// crashRatio is ticks per block with the given nodes crashed over ticks
// per block without, same seed.
func crashRatio(t *testing.T, el hotstuff.Election, n int, seed uint64, crash ...types.ValidatorIndex) float64 {
	base := ticksPerBlock(t, withElection(el), n, seed)
	crashed := ticksPerBlock(t, withElection(el), n, seed, crash...)
	r := crashed / base
	t.Logf("%v n=%d crashed %v: %.2f ticks/block vs %.2f without the crash: ratio %.2f", el, n, crash, crashed, base, r)
	return r
}

// Liveness bound: once reputation has seen f crashed validators, the
// others commit at no worse than 1.5× the ticks per block of the same
// network without the crash (the crashed are out of the rotation, so no
// view waits for them). The calm profile has no randomness, so one seed.
func TestReputationCrashedValidatorsCostLittle(t *testing.T) {
	for _, tc := range []struct {
		n     int
		crash []types.ValidatorIndex
	}{{4, []types.ValidatorIndex{2}}, {7, []types.ValidatorIndex{2, 5}}} {
		r := crashRatio(t, hotstuff.ElectReputation, tc.n, 1, tc.crash...)
		require.LessOrEqual(t, r, 1.5, "n=%d", tc.n)
	}
}

// Canary for the bound: round-robin keeps the crashed validators in the
// rotation, each pass costs view timeouts, and the same measure exceeds
// 1.5×. If this passes under reputation too, the bound measures nothing.
func TestCanaryRoundRobinCrashedValidatorsExceedBound(t *testing.T) {
	for _, tc := range []struct {
		n     int
		crash []types.ValidatorIndex
	}{{4, []types.ValidatorIndex{2}}, {7, []types.ValidatorIndex{2, 5}}} {
		r := crashRatio(t, hotstuff.ElectRoundRobin, tc.n, 1, tc.crash...)
		require.Greater(t, r, 1.5, "n=%d: round-robin should pay for its crashed leaders", tc.n)
	}
}

// proposedSince reports whether validator p proposed a block that node i
// committed above height h.
func proposedSince(s *sim.Sim, i, p types.ValidatorIndex, h uint64) bool {
	for _, cb := range s.Committed(i) {
		if cb.Block.Height > h && cb.Block.Proposer == p {
			return true
		}
	}
	return false
}

// A crashed validator drops out of the rotation; restarted, it catches
// up, signs QCs again, and leads again within a bounded number of blocks.
func TestRestartedValidatorReturnsToRotation(t *testing.T) {
	const crashed = types.ValidatorIndex(2)
	for _, seed := range []uint64{1, 2, 3} {
		s := calmSim(t, honest(), 4, seed)
		require.NoError(t, s.RunUntilHeight(5, 500))
		s.Crash(crashed)
		h := s.MaxHonestHeight()
		require.NoError(t, s.RunUntilHeight(h+100, 100000, 0, 1, 3))
		down := s.MaxHonestHeight()
		require.False(t, proposedSince(s, 0, crashed, h+40), "seed %d: a crashed validator proposed", seed)
		s.Restart(crashed)
		const bound = 60 // blocks; the active window is 16 at n=4
		require.NoError(t, s.RunUntilHeight(down+bound, 100000, 0, 1, 3))
		require.True(t, proposedSince(s, 0, crashed, down), "seed %d: %d proposed nothing committed in %d blocks after its restart", seed, crashed, bound)
		require.Nil(t, s.Violation())
		var first uint64
		for _, cb := range s.Committed(0) {
			if cb.Block.Height > down && cb.Block.Proposer == crashed {
				first = cb.Block.Height
				break
			}
		}
		t.Logf("seed %d: restarted at height %d, first committed proposal at height %d (+%d)", seed, down, first, first-down)
	}
}

// A leader that frames the leader before it (hotstuffbyz "frame":
// withhold the QC of view v−1, propose on its TC) breaks no safety rule,
// and must neither stall the chain nor frame honest validators out of the
// rotation for good: over seeds 1..20 with random faults every run is
// safe and live, and in a long calm run every honest validator proposes
// committed blocks in the second half. With one view per leader this
// failed: the framer discarded the block before its view on every pass,
// and with a rotation of three the chain never held the three consecutive
// views the three-chain needs (nothing committed); two views per leader,
// with a failed first view cutting the term, keeps it live.
func TestFramingLeaderCannotStallOrFrameOutHonestLeaders(t *testing.T) {
	for _, tc := range []struct {
		n       int
		framers []types.ValidatorIndex
	}{
		{4, []types.ValidatorIndex{3}},
		{7, []types.ValidatorIndex{3, 5}},
	} {
		t.Run(fmt.Sprintf("n=%d", tc.n), func(t *testing.T) {
			p := hotstuffsim.Protocol(hotstuffsim.Options{})
			byz := map[types.ValidatorIndex]string{}
			for _, f := range tc.framers {
				byz[f] = "frame"
			}
			var stalled []uint64
			for seed := uint64(1); seed <= 20; seed++ {
				cfg := sim.DefaultConfig(p, tc.n, seed)
				cfg.Byzantine = byz
				res, err := sim.Run(cfg)
				require.NoError(t, err)
				require.Nil(t, res.Violation, "seed %d", seed)
				if res.LivenessFailure != "" {
					stalled = append(stalled, seed)
				}
			}
			require.Empty(t, stalled, "liveness failed with these seeds of 1..20")

			cfg := sim.DefaultConfig(p, tc.n, 1)
			cfg.Faults = sim.Profiles["none"](1)
			cfg.Byzantine = byz
			s, err := sim.New(cfg)
			require.NoError(t, err)
			s.RunTicks(3000)
			require.Nil(t, s.Violation())
			committed := s.Committed(0)
			proposed := make([]int, tc.n)
			for _, cb := range committed[len(committed)/2:] {
				proposed[cb.Block.Proposer]++
			}
			t.Logf("height %d after 3000 ticks; committed blocks proposed in the second half, by validator: %v", len(committed), proposed)
			require.Greater(t, len(committed), 200, "a framer must cost at most a view timeout per pass")
			for i := range tc.n {
				if _, byzantine := byz[types.ValidatorIndex(i)]; !byzantine {
					require.Positive(t, proposed[i], "honest validator %d was framed out of the rotation", i)
				}
			}
		})
	}
}

// Under reputation, a leader that crashes costs at most two view timeouts
// (its first view, whose term is then cut, and the view before, whose
// votes it was to aggregate), and then it is out of the rotation: the
// longest commit gap after the crash stays within three base timeouts.
// Round-robin, the canary, pays three timeouts on every pass.
func TestCrashedLeaderCostsAtMostTwoTimeoutsUnderReputation(t *testing.T) {
	const base = 12 // hotstuffsim's BaseTimeoutTicks
	gap := func(el hotstuff.Election, crash types.ValidatorIndex) int {
		s := calmSim(t, withElection(el), 4, 8)
		require.NoError(t, s.RunUntilHeight(20, 600))
		s.Crash(crash)
		return longestCommitGap(s, 1000)
	}
	for crash := range types.ValidatorIndex(4) {
		reputation, roundRobin := gap(hotstuff.ElectReputation, crash), gap(hotstuff.ElectRoundRobin, crash)
		t.Logf("validator %d crashed: longest commit gap %d ticks under reputation, %d under round-robin", crash, reputation, roundRobin)
		require.LessOrEqual(t, reputation, 3*base)
		require.Greater(t, roundRobin, 3*base, "the canary pays three timeouts a pass")
	}
}

// Validators killed one after another at n = 7, each restarted before
// the next kill (as `bftkit bench faults` does on real processes): every
// kill costs at most three base timeouts of commits, and every restarted
// validator catches up, votes and leads again. Two bugs kept a restarted
// validator out for good here: it requested every ancestor of a fetched
// batch again (the surplus answers were refused as unrequested), and it
// dropped the block of a proposal that became stale while its parent was
// fetched, so it stayed one block behind and never voted.
func TestValidatorsKilledInSeriesComeBack(t *testing.T) {
	const base = 12 // hotstuffsim's BaseTimeoutTicks
	s := calmSim(t, honest(), 7, 1)
	require.NoError(t, s.RunUntilHeight(50, 5000))
	// Distinct validators: one killed twice within the failure window is
	// excluded for that window (a validator that keeps failing).
	for k, v := range []types.ValidatorIndex{6, 3, 4, 5, 2} {
		var alive []types.ValidatorIndex
		for i := range types.ValidatorIndex(7) {
			if i != v {
				alive = append(alive, i)
			}
		}
		s.Crash(v)
		h := s.MaxHonestHeight()
		gap := longestCommitGap(s, 200)
		s.Restart(v)
		require.NoError(t, s.RunUntilHeight(h+300, 20000, alive...))
		back := proposedSince(s, 0, v, h+40)
		t.Logf("kill %d (validator %d): longest commit gap %d ticks; proposes again: %v", k+1, v, gap, back)
		require.LessOrEqual(t, gap, 3*base, "kill %d", k+1)
		require.True(t, back, "validator %d did not lead again within 260 blocks of its restart", v)
		require.Equal(t, s.MaxHonestHeight(), s.Height(v), "validator %d caught up", v)
	}
	require.Nil(t, s.Violation())
}
