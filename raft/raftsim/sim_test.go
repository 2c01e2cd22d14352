package raftsim_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/raft/raftsim"
	"github.com/bftkit/bftkit/testnet/sim"
	"github.com/bftkit/bftkit/types"
)

func honest() *sim.Protocol { return raftsim.Protocol(raftsim.Options{}) }

func seedCount(t *testing.T, dflt int) int {
	n, err := sim.SeedsFromEnv(dflt)
	require.NoError(t, err)
	return n
}

// Seeded two-phase runs with crash, pause, partition and link faults and
// no Byzantine node: no safety violation, liveness in every second phase.
func TestSeededRunsWithCrashFaults(t *testing.T) {
	for _, tc := range []struct{ n, seeds int }{{3, seedCount(t, 500)}, {5, seedCount(t, 200)}} {
		t.Run(fmt.Sprintf("n=%d", tc.n), func(t *testing.T) {
			t.Parallel()
			for seed := uint64(1); seed <= uint64(tc.seeds); seed++ {
				res, err := sim.Run(sim.DefaultConfig(honest(), tc.n, seed))
				require.NoError(t, err)
				if res.Failed() {
					t.Fatalf("n=%d seed %d (replay: bftkit sim --protocol raft --nodes %d --seed %d):\n%v%s",
						tc.n, seed, tc.n, seed, res.Violation, res.LivenessFailure)
				}
			}
		})
	}
}

// What Raft does not tolerate: one equivocating leader (it sends half the
// followers different blocks) forks the chain, and the oracle reports it.
// This is the point of the comparison with the BFT engines, which hold
// against the same behaviour.
func TestOneEquivocatingLeaderBreaksRaft(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		cfg := sim.DefaultConfig(honest(), 5, seed)
		cfg.Faults = sim.Profiles["none"](seed)
		cfg.Byzantine = map[types.ValidatorIndex]string{0: "equivocate"}
		res, err := sim.Run(cfg)
		require.NoError(t, err)
		if res.Violation != nil {
			t.Logf("seed %d: %s", seed, res.Violation.What)
			require.Regexp(t, "agreement|parent", res.Violation.What)
			return
		}
	}
	t.Fatal("an equivocating Raft leader went unnoticed in 5 seeds")
}

// Same seed, same run: the engine draws its election timeouts from the
// simulator's seeded source, not from etcd raft's crypto/rand.
func TestSameSeedSameRun(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		a, err := sim.Run(sim.DefaultConfig(honest(), 5, seed))
		require.NoError(t, err)
		b, err := sim.Run(sim.DefaultConfig(honest(), 5, seed))
		require.NoError(t, err)
		require.Equal(t, a.LogHash, b.LogHash, "seed %d", seed)
	}
}
