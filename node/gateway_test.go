package node

import (
	"fmt"
	"testing"

	"github.com/bftkit/bftkit/hotstuff"
	"github.com/bftkit/bftkit/mempool"
	"github.com/bftkit/bftkit/types"
	"github.com/stretchr/testify/require"
)

// The precheck lets a lagging replica see proposals far ahead of its view
// (their QC is how it catches up) but only a few per proposer per second,
// and never a proposal from a validator that does not lead its view.
func TestPrecheckBudgetsFarFutureProposals(t *testing.T) {
	leaders := hotstuff.RoundRobin{N: 4, ViewsPerLeader: 2}
	n := &Node{proto: &protocol{leader: leaders.Leader, viewWindow: 32}}
	n.view.Store(10)
	g := &gateway{n: n, farFuture: make([]tokenBucket, 4)}
	block := func(view uint64) *types.Block { return &types.Block{View: view, Proposer: leaders.Leader(view)} }

	require.NoError(t, g.precheckProposal(block(12)))
	require.ErrorIs(t, g.precheckProposal(&types.Block{View: 12, Proposer: leaders.Leader(12) + 1}), errNotLeader)
	for range 50 { // near views are never budgeted
		require.NoError(t, g.precheckProposal(block(42)))
	}
	far := block(1000)
	for range farFutureProposalsPerSecond {
		require.NoError(t, g.precheckProposal(far), "a lagging replica needs these")
	}
	require.ErrorIs(t, g.precheckProposal(far), errFarFuture)
	other := block(1002) // another proposer has its own budget
	require.NotEqual(t, far.Proposer, other.Proposer)
	require.NoError(t, g.precheckProposal(other))
}

func TestFailureLogIsBoundedAndKeepsRepeatedHashes(t *testing.T) {
	l := newFailureLog()
	first := mempool.HashTx([]byte("first"))
	l.put(first, "full")
	l.put(first, "still full")
	for i := range maxAsyncFailures - 1 {
		l.put(mempool.HashTx(fmt.Appendf(nil, "tx%d", i)), "rejected")
	}
	reason, ok := l.get(first)
	require.True(t, ok, "a repeated hash took one slot, so it is still remembered")
	require.Equal(t, "still full", reason)
	l.put(mempool.HashTx([]byte("one more")), "rejected")
	_, ok = l.get(first)
	require.False(t, ok, "the oldest is forgotten once the log is full")
	require.Len(t, l.byHash, maxAsyncFailures)
}
