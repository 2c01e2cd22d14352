package pbftsim_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/pbft"
	"github.com/bftkit/bftkit/testnet/sim"
	"github.com/bftkit/bftkit/types"
)

// Scenario tests a reader can follow: a calm network (every message takes
// one tick) and faults applied by hand.

// watched is a simulator whose engines the test can inspect.
type watched struct {
	*sim.Sim
	engines map[types.ValidatorIndex]*pbft.Engine
}

func calm(t *testing.T, n int) *watched {
	t.Helper()
	cfg := sim.DefaultConfig(honest(), n, 1)
	cfg.Faults = sim.Profiles["none"](1)
	engines := sim.Watch[*pbft.Engine](&cfg)
	s, err := sim.New(cfg)
	require.NoError(t, err)
	return &watched{Sim: s, engines: engines}
}

func (w *watched) status(i types.ValidatorIndex) pbft.Status { return w.engines[i].Status() }

// The primary crashes: the backups time out, change to view 1, and the
// new primary (1) goes on committing.
func TestScenarioPrimaryCrashLeadsToViewChange(t *testing.T) {
	w := calm(t, 4)
	require.NoError(t, w.RunUntilHeight(5, 100))
	w.Crash(0)
	h := w.Height(1)
	require.NoError(t, w.RunUntilHeight(h+10, 300, 1, 2, 3))
	for _, i := range []types.ValidatorIndex{1, 2, 3} {
		st := w.status(i)
		require.Equal(t, uint64(1), st.View, "replica %d", i)
		require.False(t, st.ViewChanging)
	}
	require.Nil(t, w.Violation())
}

// A request prepared but not committed when the primary fails keeps its
// sequence number and digest in the next view (§4.4). Replica 3 is down,
// so every commit needs 0, 1 and 2; the primary crashes with requests in
// flight, leaving them prepared at 1 and 2 and committed nowhere. 3
// returns, the view changes, and the new-view re-proposes them.
func TestScenarioPreparedRequestSurvivesViewChange(t *testing.T) {
	w := calm(t, 4)
	w.Crash(3)
	require.NoError(t, w.RunUntilHeight(3, 100, 0, 1, 2))
	w.Crash(0)
	w.RunTicks(3) // in-flight prepares land; commits cannot complete
	executed := max(w.status(1).Executed, w.status(2).Executed)
	prepared := map[uint64]types.BlockID{}
	for seq := executed + 1; ; seq++ {
		d1, ok1 := w.engines[1].Prepared(seq)
		d2, ok2 := w.engines[2].Prepared(seq)
		if !ok1 || !ok2 {
			break
		}
		require.Equal(t, d1, d2)
		prepared[seq] = d1
	}
	require.NotEmpty(t, prepared, "the crash left nothing prepared-uncommitted; the scenario needs retuning")
	require.NoError(t, w.RunUntilHeight(executed, 50, 1, 2))
	w.Restart(3)
	require.NoError(t, w.RunUntilHeight(executed+uint64(len(prepared))+3, 400, 1, 2, 3))
	require.Equal(t, uint64(1), w.status(1).View)
	for seq, d := range prepared {
		got := w.Committed(1)[seq-1]
		require.Equal(t, d, got.ID, "seq %d committed another block than the one prepared", seq)
		require.Equal(t, uint64(0), got.Block.View, "proposed in view 0, committed in view 1")
	}
}

// Under steady load checkpoints become stable every K numbers and the log
// is cut at them: it never holds more than L numbers (§4.3).
func TestScenarioCheckpointsCollectGarbageUnderLoad(t *testing.T) {
	w := calm(t, 4)
	const k, l = 4, 8 // SimConfig
	for target := uint64(10); target <= 60; target += 10 {
		require.NoError(t, w.RunUntilHeight(target, 200))
		for i := range 4 {
			st := w.status(types.ValidatorIndex(i))
			require.LessOrEqual(t, st.LogSlots, l, "replica %d", i)
			require.GreaterOrEqual(t, st.LowWatermark+2*k, st.Executed, "replica %d: h = %d lags execution %d", i, st.LowWatermark, st.Executed)
			require.Zero(t, st.LowWatermark%k)
		}
	}
}

// A replica down for a while catches up from checkpoints: f+1 vouch for
// one, and it fetches the committed blocks with their certificates.
func TestScenarioLaggingReplicaCatchesUp(t *testing.T) {
	w := calm(t, 4)
	w.Crash(3)
	require.NoError(t, w.RunUntilHeight(40, 300, 0, 1, 2))
	w.Restart(3)
	require.NoError(t, w.RunUntilHeight(w.Height(0)+5, 200))
	require.Equal(t, w.Committed(0)[:40], w.Committed(3)[:40])
	require.NotZero(t, w.Counters().ByType[types.MsgBlockRequest].Sent, "caught up without fetching")
	require.NotZero(t, w.Counters().ByType[types.MsgBlockResponse].Delivered)
}
