package pbftsim_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/pbft/pbftsim"
	"github.com/bftkit/bftkit/testnet/sim"
	"github.com/bftkit/bftkit/types"
)

func honest() *sim.Protocol { return pbftsim.Protocol(pbftsim.Options{}) }

// behaviourNames is the whole catalogue the seeded runs draw from.
func behaviourNames() []string { return honest().BehaviourNames() }

// byzantineFor draws up to f Byzantine nodes and their behaviours from the
// seed, so that every behaviour meets every fault mix across seeds.
func byzantineFor(seed uint64, n int) map[types.ValidatorIndex]string {
	r := rand.New(rand.NewPCG(seed, 0x62797a)) // "byz"
	names := behaviourNames()
	out := map[types.ValidatorIndex]string{}
	for _, i := range r.Perm(n)[:r.IntN((n-1)/3+1)] {
		out[types.ValidatorIndex(i)] = names[r.IntN(len(names))]
	}
	return out
}

func seedCount(t *testing.T, dflt int) int {
	n, err := sim.SeedsFromEnv(dflt)
	require.NoError(t, err)
	return n
}

// Seeded runs with random faults and up to f Byzantine nodes of every
// behaviour: no safety violation, and liveness in every second phase.
func TestSeededRunsWithFaultsAndByzantineNodes(t *testing.T) {
	for _, tc := range []struct{ n, seeds int }{{4, seedCount(t, 1000)}, {7, seedCount(t, 200)}} {
		for seed := uint64(1); seed <= uint64(tc.seeds); seed++ {
			cfg := sim.DefaultConfig(honest(), tc.n, seed)
			cfg.Byzantine = byzantineFor(seed, tc.n)
			res, err := sim.Run(cfg)
			require.NoError(t, err)
			if res.Failed() {
				t.Fatalf("n=%d seed %d byzantine %v (replay: bftkit sim --protocol pbft --nodes %d --seed %d --byzantine ...):\n%v%s",
					tc.n, seed, cfg.Byzantine, tc.n, seed, res.Violation, res.LivenessFailure)
			}
		}
	}
}
