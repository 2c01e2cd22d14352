package pbftsim_test

import (
	"fmt"
	"maps"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/testnet/sim"
	"github.com/bftkit/bftkit/types"
)

// steadyState runs a calm network past its first checkpoints, then counts
// the messages sent while `blocks` more blocks commit (a multiple of K, so
// that checkpoints are counted exactly).
func steadyState(t testing.TB, n int, blocks uint64) (perBlock map[types.MsgType]float64, total float64) {
	w := calmN(t, n)
	require.NoError(t, w.RunUntilHeight(8, 500))
	start := w.MaxHonestHeight()
	before := w.Counters()
	snapshot := map[types.MsgType]uint64{}
	for mt, c := range before.ByType {
		snapshot[mt] = c.Sent
	}
	require.NoError(t, w.RunUntilHeight(start+blocks, 5000))
	got := w.MaxHonestHeight() - start
	perBlock = map[types.MsgType]float64{}
	for mt, c := range w.Counters().ByType {
		perBlock[mt] = float64(c.Sent-snapshot[mt]) / float64(got)
		total += perBlock[mt]
	}
	return perBlock, total
}

func calmN(t testing.TB, n int) *sim.Sim {
	cfg := sim.DefaultConfig(honest(), n, 1)
	cfg.Faults = sim.Profiles["none"](1)
	s, err := sim.New(cfg)
	require.NoError(t, err)
	return s
}

// expectedPerBlock is the normal case of §4.2, all to all: a pre-prepare
// to n−1 backups, a prepare from each of them to n−1 replicas, a commit
// from each of n to n−1 (2n(n−1) in all), plus one checkpoint from each
// replica to n−1 others every K blocks.
func expectedPerBlock(n, k int) float64 {
	return float64((n-1)+(n-1)*(n-1)+n*(n-1)) + float64(n*(n-1))/float64(k)
}

// Steady state is quadratic, exactly as the paper counts it: nothing is
// resent on a calm network.
func TestSteadyStateMessagesPerBlock(t *testing.T) {
	const k = 4 // SimConfig
	for _, n := range []int{4, 7, 16} {
		perBlock, total := steadyState(t, n, 8*k)
		require.InDelta(t, expectedPerBlock(n, k), total, 0.01, "n=%d: %v", n, perBlock)
		require.InDelta(t, float64(n-1), perBlock[types.MsgPBFTPrePrepare], 0.01, "n=%d", n)
	}
}

// BenchmarkMessagesPerBlock reports the steady-state messages and bytes per
// committed block for n = 4, 16, 64 (go test -run NONE -bench
// MessagesPerBlock ./pbft/pbftsim).
func BenchmarkMessagesPerBlock(b *testing.B) {
	for _, n := range []int{4, 16, 64} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			var perBlock map[types.MsgType]float64
			var total float64
			for range b.N {
				perBlock, total = steadyState(b, n, 16)
			}
			b.ReportMetric(total, "msgs/block")
			b.ReportMetric(perBlock[types.MsgPBFTPrePrepare], "preprepares/block")
		})
	}
}

// viewChangeCost crashes the primary of a calm network and counts what the
// view change sends: view-changes, the new-view, and their bytes.
func viewChangeCost(t testing.TB, n int) (vcs, nvs, vcBytes, nvBytes uint64) {
	w := calmN(t, n)
	require.NoError(t, w.RunUntilHeight(10, 500))
	before := maps.Clone(w.Counters().ByType) // Counters shares its map
	w.Crash(0)
	var live []types.ValidatorIndex
	for i := 1; i < n; i++ {
		live = append(live, types.ValidatorIndex(i))
	}
	// Past what the old primary had in flight: these commit in the new view.
	require.NoError(t, w.RunUntilHeight(w.MaxHonestHeight()+8, 2000, live...))
	after := w.Counters().ByType
	vc, nv := types.MsgPBFTViewChange, types.MsgPBFTNewView
	return after[vc].Sent - before[vc].Sent, after[nv].Sent - before[nv].Sent,
		after[vc].Bytes - before[vc].Bytes, after[nv].Bytes - before[nv].Bytes
}

// A view change after a primary crash costs one view-change from each
// live replica to every other, and one new-view to every backup, plus one
// more to each replica whose view-change reached the new primary after it
// had sent the new-view with the first 2f+1 (the primary cannot tell a late
// one from a replica that missed the new-view, so it answers).
func TestViewChangeCost(t *testing.T) {
	for _, n := range []int{4, 7} {
		vcs, nvs, _, _ := viewChangeCost(t, n)
		live := uint64(n - 1)
		require.Equal(t, live*uint64(n-1), vcs, "n=%d: view-changes", n)
		late := uint64(n - 1 - (2*n/3 + 1)) // live replicas beyond the quorum
		require.GreaterOrEqual(t, nvs, uint64(n-1), "n=%d: new-views", n)
		require.LessOrEqual(t, nvs, uint64(n-1)+late, "n=%d: new-views", n)
	}
}

// BenchmarkViewChange reports the cost of one view change after a primary
// crash for n = 4, 16, 64.
func BenchmarkViewChange(b *testing.B) {
	for _, n := range []int{4, 16, 64} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			var vcs, nvs, vcBytes, nvBytes uint64
			for range b.N {
				vcs, nvs, vcBytes, nvBytes = viewChangeCost(b, n)
			}
			b.ReportMetric(float64(vcs), "view-changes")
			b.ReportMetric(float64(nvs), "new-views")
			b.ReportMetric(float64(vcBytes+nvBytes), "bytes")
		})
	}
}
