package hotstuffsim_test

import (
	"github.com/bftkit/bftkit/protocol"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/hotstuff/hotstuffsim"
	"github.com/bftkit/bftkit/testnet/sim"
	"github.com/bftkit/bftkit/types"
)

// twinsRun runs n = 4 with the given twins, honest node 0 in world A and
// the other honest nodes in world B, the honest worlds cut apart.
func twinsRun(t *testing.T, twinNodes []types.ValidatorIndex, seed uint64) *sim.Sim {
	p := honest()
	p.Behaviours = protocol.Catalogue{"twins": hotstuffsim.TwinsWorlds([]types.ValidatorIndex{0}, twinNodes)}
	cfg := sim.DefaultConfig(p, 4, seed)
	cfg.Faults = sim.Profiles["none"](seed)
	cfg.Byzantine = map[types.ValidatorIndex]string{}
	for _, i := range twinNodes {
		cfg.Byzantine[i] = "twins"
	}
	cfg.AllowMoreThanF = true
	s, err := sim.New(cfg)
	require.NoError(t, err)
	for a := range types.ValidatorIndex(4) {
		for b := range types.ValidatorIndex(4) {
			honestA, honestB := cfg.Byzantine[a] == "", cfg.Byzantine[b] == ""
			if a != b && honestA && honestB && (a == 0) != (b == 0) {
				s.CutOneWay(a, b)
			}
		}
	}
	s.RunTicks(600)
	return s
}

// Harness validation: with f+1 twins (Byzantine nodes that act honestly
// but separately towards two halves of the honest nodes), each half sees a
// quorum and commits its own chain. The simulator must report the fork;
// if it does not, it cannot see one.
func TestFPlusOneTwinsForkIsObserved(t *testing.T) {
	s := twinsRun(t, []types.ValidatorIndex{2, 3}, 1)
	require.NotNil(t, s.Violation(), "f+1 twins must fork HotStuff, and the oracle must see it")
	require.Contains(t, s.Violation().What, "agreement")
	t.Log(s.Violation().What)
}

// The same attack with f twins breaks nothing: one world has no quorum.
func TestFTwinsCannotFork(t *testing.T) {
	s := twinsRun(t, []types.ValidatorIndex{3}, 1)
	require.Nil(t, s.Violation())
	require.Greater(t, s.Height(1), uint64(5), "the world with a quorum (1, 2 and one twin) keeps committing")
	require.Zero(t, s.Height(0), "the world without one (0 and the other twin) commits nothing")
}

// Seeded Twins runs (Twins' method): one twin (f = 1) serving a different
// honest node alone in each seed, under the seed's random faults and
// partitions. HotStuff must stay safe and live.
func TestOneTwinUnderRandomFaultsIsSafe(t *testing.T) {
	for seed := uint64(1); seed <= uint64(seedCount(t, 150)); seed++ {
		p := honest()
		p.Behaviours = protocol.Catalogue{"twins": hotstuffsim.TwinsWorlds([]types.ValidatorIndex{types.ValidatorIndex(seed % 3)}, []types.ValidatorIndex{3})}
		cfg := sim.DefaultConfig(p, 4, seed)
		cfg.Byzantine = map[types.ValidatorIndex]string{3: "twins"}
		res, err := sim.Run(cfg)
		require.NoError(t, err)
		require.False(t, res.Failed(), "seed %d: %v %s", seed, res.Violation, res.LivenessFailure)
	}
}
