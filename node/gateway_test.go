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

// PBFT view-changes and new-views are prechecked before their many
// signatures are verified: stale views are refused, and far-future ones
// are budgeted per sender, as proposals are.
func TestPrecheckRefusesStaleAndBudgetsFarFutureViewChanges(t *testing.T) {
	n := &Node{proto: &protocol{viewWindow: pbftViewWindow}}
	n.view.Store(10)
	g := &gateway{n: n, farFuture: make([]tokenBucket, 4)}
	require.ErrorIs(t, g.precheckViewChange(9, 1), errStaleView)
	for range 50 {
		require.NoError(t, g.precheckViewChange(10+pbftViewWindow, 1), "near views are never budgeted")
	}
	for range farFutureProposalsPerSecond {
		require.NoError(t, g.precheckViewChange(1000, 1))
	}
	require.ErrorIs(t, g.precheckViewChange(1001, 1), errFarFuture)
	require.NoError(t, g.precheckViewChange(1000, 2), "each sender has its own budget")
}

// Each protocol accepts only its own message types; another protocol's
// message is refused before any precheck or verification (a Raft node
// never runs HotStuff's leader check on a stray proposal).
func TestProtocolsAcceptOnlyTheirOwnMessages(t *testing.T) {
	for name, p := range map[string]func(types.MsgType) bool{
		ProtocolHotStuff: acceptsTypes(types.MsgHotStuffProposal, types.MsgHotStuffVote),
	} {
		require.True(t, p(types.MsgHotStuffVote), name)
		require.False(t, p(types.MsgRaft), name)
	}
	c := newProtocolCluster(t, ProtocolRaft, 4)
	proto := c.nodes[0].proto
	require.True(t, proto.accepts(types.MsgRaft))
	require.True(t, proto.accepts(types.MsgBlockRequest))
	for _, foreign := range []types.MsgType{types.MsgHotStuffProposal, types.MsgPBFTPrePrepare, types.MsgPBFTFetch, types.MsgPBFTViewChange} {
		require.False(t, proto.accepts(foreign), "%v", foreign)
	}
}
