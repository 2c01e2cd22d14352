package raftsim_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/testnet/sim"
	"github.com/bftkit/bftkit/types"
)

// steadyState runs a calm network past its first election, then counts
// the Raft messages sent while `blocks` more blocks commit, and the ticks
// that took (heartbeats are per tick, not per block).
func steadyState(t testing.TB, n int, blocks uint64) (perBlock, blocksPerTick float64) {
	cfg := sim.DefaultConfig(honest(), n, 1)
	cfg.Faults = sim.Profiles["none"](1)
	s, err := sim.New(cfg)
	require.NoError(t, err)
	require.NoError(t, s.RunUntilHeight(10, 1000))
	start, sent, t0 := s.MaxHonestHeight(), s.Counters().ByType[types.MsgRaft].Sent, s.Now()
	require.NoError(t, s.RunUntilHeight(start+blocks, 10_000))
	got := float64(s.MaxHonestHeight() - start)
	return float64(s.Counters().ByType[types.MsgRaft].Sent-sent) / got, got / float64(s.Now()-t0)
}

// Raft's cost per committed block is linear in n. Per block the leader
// appends to n−1 followers, who acknowledge (2(n−1), the textbook count).
// etcd raft then sends a second, empty append to tell the followers the new
// commit index, which they acknowledge too (raft.go: maybeCommit, then
// bcastAppend), so that is another 2(n−1). Heartbeats come on top: one to
// each follower and back every heartbeat tick, and an empty append after
// each response while the follower trails the pipelined log (raft.go,
// MsgHeartbeatResp), so 4(n−1) per tick, spread over the blocks of that
// tick: at two blocks per tick, 6(n−1) per block in all. The test checks that the count per
// block and per follower is the same constant at every n (linear), and at
// least the textbook 2.
func TestSteadyStateMessagesPerBlock(t *testing.T) {
	var perFollower []float64
	for _, n := range []int{3, 5, 9} {
		perBlock, rate := steadyState(t, n, 64)
		t.Logf("n=%d: %.2f msgs/block, %.2f blocks/tick", n, perBlock, rate)
		perFollower = append(perFollower, perBlock/float64(n-1))
	}
	require.GreaterOrEqual(t, perFollower[0], 2.0)
	for _, k := range perFollower[1:] {
		require.InDelta(t, perFollower[0], k, 0.1*perFollower[0], "not linear in n: %v", perFollower)
	}
}

// BenchmarkMessagesPerBlock reports messages per committed block for
// n = 3 … 65 (go test -run=NONE -bench=MessagesPerBlock -benchtime=1x
// ./raft/raftsim).
func BenchmarkMessagesPerBlock(b *testing.B) {
	for _, n := range []int{3, 5, 9, 17, 33, 65} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			var perBlock, rate float64
			for range b.N {
				perBlock, rate = steadyState(b, n, 64)
			}
			b.ReportMetric(perBlock, "msgs/block")
			b.ReportMetric(2*float64(n-1), "2(n-1)")
			b.ReportMetric(rate, "blocks/tick")
		})
	}
}
