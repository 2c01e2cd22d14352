package driver

import (
	"testing"
	"time"

	"github.com/bftkit/bftkit/hotstuff"
	"github.com/bftkit/bftkit/pbft"
	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/raft"
	"github.com/bftkit/bftkit/types"
	"github.com/stretchr/testify/require"
)

// fixedClock is a clock that moves only when a test moves it.
type fixedClock struct{ now time.Time }

func (c *fixedClock) Now() time.Time { return c.now }

func newTestGateway(t *testing.T, desc protocol.Descriptor, view uint64) (*Gateway, *fixedClock) {
	t.Helper()
	clock := &fixedClock{now: time.Unix(1000, 0)}
	g, err := NewGateway(GatewayConfig{Self: 0, N: 4, Descriptor: &desc,
		Verifier: qc.NewSchemeVerifier("test", 4, 3, qc.NewHashScheme(4, 1)), VerifyWorkers: 1,
		Clock: clock, View: func() uint64 { return view }})
	require.NoError(t, err)
	return g, clock
}

// The precheck lets a lagging replica see proposals far ahead of its view
// (their QC is how it catches up) but only a few per proposer per second,
// and never a proposal from a validator that does not lead its view (when
// the leader is a function of the view: round-robin).
func TestPrecheckBudgetsFarFutureProposals(t *testing.T) {
	roundRobin := hotstuff.Descriptor(func(c *hotstuff.Config) { c.Election = hotstuff.ElectRoundRobin })
	g, clock := newTestGateway(t, roundRobin, 10)
	leader := hotstuff.RoundRobin{N: 4, ViewsPerLeader: hotstuff.DefaultViewsPerLeader}.Leader
	proposal := func(view uint64, proposer types.ValidatorIndex) types.Payload {
		return &types.Proposal{Block: &types.Block{View: view, Proposer: proposer}}
	}
	precheck := func(view uint64) error {
		return g.precheck(leader(view), protocol.Proposal, proposal(view, leader(view)))
	}

	require.NoError(t, precheck(12))
	require.ErrorIs(t, g.precheck(1, protocol.Proposal, proposal(12, leader(12)+1)), ErrNotLeader)
	for range 50 { // near views are never budgeted
		require.NoError(t, precheck(42))
	}
	for range farFuturePerSecond {
		require.NoError(t, precheck(1000), "a lagging replica needs these")
	}
	require.ErrorIs(t, precheck(1000), ErrFarFuture)
	require.NotEqual(t, leader(1000), leader(1002))
	require.NoError(t, precheck(1002), "another proposer has its own budget")
	clock.now = clock.now.Add(time.Second)
	require.NoError(t, precheck(1000), "the budget refills with time")
}

// PBFT view-changes and new-views are prechecked before their many
// signatures are verified: stale views are refused, and far-future ones
// are budgeted per sender, as proposals are.
func TestPrecheckRefusesStaleAndBudgetsFarFutureViewChanges(t *testing.T) {
	g, _ := newTestGateway(t, pbft.Descriptor(nil), 10)
	vc := func(view uint64, replica types.ValidatorIndex) error {
		return g.precheck(replica, protocol.ViewChange, &types.PBFTViewChange{View: view, Replica: replica})
	}
	require.ErrorIs(t, vc(9, 1), ErrStaleView)
	for range 50 {
		require.NoError(t, vc(10+pbft.ViewWindow, 1), "near views are never budgeted")
	}
	for range farFuturePerSecond {
		require.NoError(t, vc(1000, 1))
	}
	require.ErrorIs(t, vc(1001, 1), ErrFarFuture)
	require.NoError(t, vc(1000, 2), "each sender has its own budget")
}

// Each protocol accepts only its own message types; another protocol's
// message is refused before any precheck or verification (a Raft node
// never runs HotStuff's leader check on a stray proposal).
func TestProtocolsAcceptOnlyTheirOwnMessages(t *testing.T) {
	g, _ := newTestGateway(t, raft.Descriptor(nil), 1)
	for _, foreign := range []types.Payload{
		&types.Proposal{Block: &types.Block{Height: 1, View: 1, Proposer: 1}},
		&types.PBFTPrePrepare{Primary: 1, Block: &types.Block{Height: 1, Proposer: 1}},
		&types.PBFTVote{Replica: 1},
		&types.PBFTViewChange{Replica: 1},
	} {
		_, err := g.Check(1, false, types.Message{From: 1, Payload: foreign})
		require.ErrorIs(t, err, ErrWrongProtocol, "%v", foreign.MsgType())
	}
	class, err := g.Check(1, false, types.Message{From: 1, Payload: &types.BlockRequest{Sender: 1, Ancestors: 1}})
	require.NoError(t, err)
	require.Equal(t, protocol.Fetch, class, "a fetch goes to the block server, unverified")
}

// The sender binding: a message must come from the validator that signed
// it, never claim to be this node's, and only proposals travel by gossip.
func TestCheckBindsTheSender(t *testing.T) {
	g, _ := newTestGateway(t, hotstuff.Descriptor(nil), 1)
	vote := &types.Vote{Voter: 2, View: 1}
	_, err := g.Check(1, false, types.Message{From: 2, Payload: vote})
	require.ErrorContains(t, err, "arrived from peer 1")
	_, err = g.Check(0, false, types.Message{From: 0, Payload: &types.Vote{Voter: 0}})
	require.ErrorIs(t, err, ErrFromSelf)
	_, err = g.Check(2, true, types.Message{From: 2, Payload: vote})
	require.ErrorContains(t, err, "proposals topic")
}

// Unsigned block responses are accepted only up to what this node asked
// that peer for.
func TestResponsesOnlyAsAsked(t *testing.T) {
	g, _ := newTestGateway(t, hotstuff.Descriptor(nil), 1)
	resp := types.Message{From: 2, Payload: &types.BlockResponse{Sender: 2, Block: &types.Block{Height: 1}}}
	_, err := g.Check(2, false, resp)
	require.ErrorIs(t, err, ErrUnrequested)
	g.expect(2, 2)
	for range 2 {
		_, err = g.Check(2, false, resp)
		require.NoError(t, err)
	}
	_, err = g.Check(2, false, resp)
	require.ErrorIs(t, err, ErrUnrequested)
	_, err = g.Check(3, false, types.Message{From: 3, Payload: &types.BlockResponse{Sender: 3, Block: &types.Block{Height: 1}}})
	require.ErrorIs(t, err, ErrUnrequested, "asking peer 2 does not open peer 3")
}

// A PBFT new-view gets the view-change prechecks: stale views refused,
// far ones budgeted against its primary.
func TestPrecheckTreatsNewViewsLikeViewChanges(t *testing.T) {
	g, _ := newTestGateway(t, pbft.Descriptor(nil), 10)
	desc := pbft.Descriptor(nil)
	class, ok := desc.Class(types.MsgPBFTNewView)
	require.True(t, ok)
	require.Equal(t, protocol.NewView, class)
	nv := func(view uint64) error {
		return g.precheck(1, class, &types.PBFTNewView{View: view, Primary: 1})
	}
	require.ErrorIs(t, nv(9), ErrStaleView)
	for range farFuturePerSecond {
		require.NoError(t, nv(1000))
	}
	require.ErrorIs(t, nv(1000), ErrFarFuture)
}

// Under HotStuff's reputation the leader is read from the chain a
// proposal extends, which the gateway does not hold: the descriptor has
// no leader function, the gateway lets any validator's proposal within
// the window through (the engine checks the leader), and still budgets
// those beyond it.
func TestPrecheckLeavesAChainElectedLeaderToTheEngine(t *testing.T) {
	desc := hotstuff.Descriptor(nil)
	require.Nil(t, desc.Leader, "reputation: no leader function")
	g, _ := newTestGateway(t, desc, 10)
	for proposer := range types.ValidatorIndex(4) {
		require.NoError(t, g.precheck(proposer, protocol.Proposal, &types.Proposal{Block: &types.Block{View: 12, Proposer: proposer}}))
	}
	for range farFuturePerSecond {
		require.NoError(t, g.precheck(1, protocol.Proposal, &types.Proposal{Block: &types.Block{View: 1000, Proposer: 1}}))
	}
	require.ErrorIs(t, g.precheck(1, protocol.Proposal, &types.Proposal{Block: &types.Block{View: 1000, Proposer: 1}}), ErrFarFuture)
}
