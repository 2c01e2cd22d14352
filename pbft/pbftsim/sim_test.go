package pbftsim_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/pbft/pbftsim"
	"github.com/bftkit/bftkit/testnet/sim"
	"github.com/bftkit/bftkit/types"
)

func honest() *sim.Protocol { return pbftsim.Protocol(pbftsim.Options{}) }

// behaviourNames is the whole catalogue the seeded runs draw from.
func behaviourNames() []string { return honest().BehaviourNames() }

func seedCount(t *testing.T, dflt int) int {
	n, err := sim.SeedsFromEnv(dflt)
	require.NoError(t, err)
	return n
}

// Seeded runs with random faults and up to f Byzantine nodes of every
// behaviour: no safety violation, and liveness in every second phase.
func TestSeededRunsWithFaultsAndByzantineNodes(t *testing.T) {
	for _, tc := range []struct{ n, seeds int }{{4, seedCount(t, 1000)}, {7, seedCount(t, 200)}} {
		t.Run(fmt.Sprintf("n=%d", tc.n), func(t *testing.T) {
			t.Parallel() // the two sizes take about as long as each other
			for seed := uint64(1); seed <= uint64(tc.seeds); seed++ {
				cfg := sim.DefaultConfig(honest(), tc.n, seed)
				cfg.Byzantine = honest().DrawByzantine(seed, tc.n)
				res, err := sim.Run(cfg)
				require.NoError(t, err)
				if res.Failed() {
					t.Fatalf("n=%d seed %d byzantine %v (replay: bftkit sim --protocol pbft --nodes %d --seed %d --byzantine ...):\n%v%s",
						tc.n, seed, cfg.Byzantine, tc.n, seed, res.Violation, res.LivenessFailure)
				}
			}
		})
	}
}

// Every behaviour of the catalogue is accepted by name and, as the one
// Byzantine node, breaks neither safety nor liveness.
func TestEveryBehaviourRunsByName(t *testing.T) {
	for _, name := range []string{"silent", "duplicate", "equivocate", "wrong-digest", "double-vote", "bad-checkpoint",
		"bad-view-change", "bad-new-view", "silent-primary", "flood"} {
		require.Contains(t, behaviourNames(), name)
		for _, byz := range []types.ValidatorIndex{0, 1} { // the first primary, and the first new primary
			cfg := sim.DefaultConfig(honest(), 4, 11)
			cfg.Byzantine = map[types.ValidatorIndex]string{byz: name}
			res, err := sim.Run(cfg)
			require.NoError(t, err)
			require.False(t, res.Failed(), "%s at %d: %v %s", name, byz, res.Violation, res.LivenessFailure)
		}
	}
	require.Len(t, behaviourNames(), 10, "a behaviour was added without a test here")
}

// Harness validation: with f+1 equivocators (the first primary and one
// backup) the safety bound is exceeded, and the simulator must observe the
// fork. If it did not, the seeded runs' silence would mean nothing.
func TestFPlusOneEquivocatorsForkIsObserved(t *testing.T) {
	cfg := sim.DefaultConfig(honest(), 4, 1)
	cfg.Faults = sim.Profiles["none"](1)
	cfg.Byzantine = map[types.ValidatorIndex]string{0: "equivocate", 1: "equivocate"}
	cfg.AllowMoreThanF = true
	res, err := sim.Run(cfg)
	require.NoError(t, err)
	require.NotNil(t, res.Violation, "f+1 equivocators and no fork seen")
	require.Contains(t, res.Violation.What, "agreement")
}
