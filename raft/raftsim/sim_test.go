package raftsim_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/raft"
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

// watched is a simulator whose engines the test can inspect.
type watched struct {
	*sim.Sim
	engines map[types.ValidatorIndex]*raft.Engine
}

func calm(t *testing.T, n int) *watched {
	t.Helper()
	cfg := sim.DefaultConfig(honest(), n, 1)
	cfg.Faults = sim.Profiles["none"](1)
	engines := sim.Watch[*raft.Engine](&cfg)
	s, err := sim.New(cfg)
	require.NoError(t, err)
	return &watched{Sim: s, engines: engines}
}

func (w *watched) leader(among ...types.ValidatorIndex) (types.ValidatorIndex, bool) {
	for _, i := range among {
		if l, _, ok := w.engines[i].Leader(); ok && l == i {
			return i, true
		}
	}
	return 0, false
}

// The leader crashes: the others elect a new one (PreVote, then a vote)
// and go on committing.
func TestScenarioLeaderCrashElectsANewLeader(t *testing.T) {
	w := calm(t, 5)
	require.NoError(t, w.RunUntilHeight(10, 200))
	old, ok := w.leader(0, 1, 2, 3, 4)
	require.True(t, ok)
	w.Crash(old)
	var live []types.ValidatorIndex
	for i := range types.ValidatorIndex(5) {
		if i != old {
			live = append(live, i)
		}
	}
	require.NoError(t, w.RunUntilHeight(w.Height(live[0])+10, 300, live...))
	now, ok := w.leader(live...)
	require.True(t, ok, "no leader among the live nodes")
	require.NotEqual(t, old, now)
	_, oldTerm, _ := w.engines[live[0]].Leader()
	require.Greater(t, oldTerm, uint64(1), "a new term")
}

// A follower down for longer than the log's retention comes back: the
// leader sends a snapshot, and the follower fetches the blocks it skipped.
func TestScenarioRestartedFollowerCatchesUpFromASnapshot(t *testing.T) {
	w := calm(t, 3)
	require.NoError(t, w.RunUntilHeight(5, 200))
	l, ok := w.leader(0, 1, 2)
	require.True(t, ok)
	down := (l + 1) % 3
	w.Crash(down)
	others := []types.ValidatorIndex{l, (l + 2) % 3}
	require.NoError(t, w.RunUntilHeight(200, 1000, others...)) // far beyond RetainEntries = 16
	w.Restart(down)
	require.NoError(t, w.RunUntilHeight(w.Height(l)+5, 500))
	require.Equal(t, w.Committed(l)[:200], w.Committed(down)[:200])
	require.NotZero(t, w.Counters().ByType[types.MsgBlockResponse].Delivered, "caught up without fetching the skipped blocks")
	require.GreaterOrEqual(t, w.Counters().ByType[types.MsgBlockRequest].Sent, uint64(3), "195 blocks take several windows of 64")
}
