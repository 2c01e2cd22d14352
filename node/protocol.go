package node

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/bftkit/bftkit/hotstuff"
	"github.com/bftkit/bftkit/hotstuff/hotstuffsim"
	"github.com/bftkit/bftkit/pbft"
	"github.com/bftkit/bftkit/pbft/pbftsim"
	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/raft"
	"github.com/bftkit/bftkit/raft/raftsim"
	"github.com/bftkit/bftkit/store"
	"github.com/bftkit/bftkit/testnet/sim"
	"github.com/bftkit/bftkit/types"
)

// protocol is one consensus mode as the node drives it: the engine, its
// gateway check, and what /status reports about it.
type protocol struct {
	name   string
	engine types.Engine
	// verify checks a decoded message's signatures and certificates; it
	// runs on many goroutines at once.
	verify func(types.Message) error
	// view is the engine's current view: only the Ready loop calls it
	// (and New, before the loop starts); others read Node.view.
	view func() uint64
	// leader names the leader of a view. For HotStuff and PBFT it is a
	// pure function, safe anywhere; Raft's reads the engine, and only the
	// Ready loop calls it (its gateway accepts no proposals).
	leader func(view uint64) types.ValidatorIndex
	// viewWindow is how far ahead of its view the engine buffers
	// proposals; the gateway drops proposals further ahead.
	viewWindow uint64
	// accepts says which message types the protocol uses; the gateway
	// refuses the others before anything else looks at them.
	accepts func(types.MsgType) bool
	// quorum is how many validators the protocol needs to commit: 2f+1
	// of the set for the BFT protocols, a majority for Raft.
	quorum int
	// commitsNeedChildren says a block commits only once later blocks
	// build on it (HotStuff's three-chain), so an idle leader must keep
	// proposing while a block with transactions is pending. PBFT commits
	// each block on its own.
	commitsNeedChildren bool
}

func newProtocol(cfg *Config, r store.Restored, st *store.Store) (*protocol, error) {
	switch cfg.Protocol {
	case ProtocolHotStuff:
		return newHotStuff(cfg, r)
	case ProtocolPBFT:
		return newPBFT(cfg, r)
	case ProtocolRaft:
		return newRaft(cfg, r, st)
	}
	return nil, fmt.Errorf("node: unknown protocol %q", cfg.Protocol)
}

func newHotStuff(cfg *Config, r store.Restored) (*protocol, error) {
	chainID, n := cfg.Genesis.ChainID, cfg.Set.N()
	hc := hotstuff.DefaultConfig(cfg.Self, n, chainID, qc.NewBLSSigner(cfg.Key), qc.NewBLSScheme(cfg.Set))
	hc.RetainCommitted = cfg.RetainCommitted
	leaders := hotstuff.RoundRobin{N: n, ViewsPerLeader: hotstuff.DefaultViewsPerLeader}
	hc.Leaders = leaders
	e, err := hotstuff.New(hc, hotstuff.Restored{Safety: r.SafetyState, Blocks: r.Pending, Committed: r.Committed})
	if err != nil {
		return nil, fmt.Errorf("node: restoring hotstuff: %w", err)
	}
	engine, err := byzantine(cfg, e, hotstuffsim.Behaviours, hc.Signer, hc.Scheme)
	if err != nil {
		return nil, err
	}
	v := qc.NewVerifier(chainID, cfg.Set)
	return &protocol{
		name:       ProtocolHotStuff,
		engine:     engine,
		verify:     func(m types.Message) error { return hotstuff.VerifyMessage(v, m) },
		view:       e.View,
		leader:     leaders.Leader,
		viewWindow: hc.ViewWindow,
		quorum:     cfg.Set.Quorum(),
		accepts:    acceptsTypes(types.MsgHotStuffProposal, types.MsgHotStuffVote, types.MsgHotStuffTimeout, types.MsgBlockRequest, types.MsgBlockResponse),

		commitsNeedChildren: true,
	}, nil
}

// newRaft runs the crash-fault Raft mode: a majority quorum of the same
// validator set, and no Byzantine tolerance (it is there for comparison).
func newRaft(cfg *Config, r store.Restored, st *store.Store) (*protocol, error) {
	rc := raft.DefaultConfig(cfg.Self, cfg.Set.N())
	rc.RetainCommitted = cfg.RetainCommitted
	e, err := raft.New(rc, raft.Restored{Safety: r.SafetyState, Blocks: r.Pending, Committed: r.Committed, Lookup: st.BlockByID})
	if err != nil {
		return nil, fmt.Errorf("node: restoring raft: %w", err)
	}
	engine, err := byzantine(cfg, e, raftsim.Behaviours, nil, nil)
	if err != nil {
		return nil, err
	}
	return &protocol{
		name:    ProtocolRaft,
		engine:  engine,
		verify:  raft.VerifyMessage,
		view:    e.Term,
		quorum:  raft.Quorum(cfg.Set.N()),
		accepts: acceptsTypes(types.MsgRaft, types.MsgRaftFetch, types.MsgBlockRequest, types.MsgBlockResponse),
		// Raft's gateway accepts no proposals, so only the Ready loop
		// (/status) calls this, never a transport goroutine.
		leader: func(uint64) types.ValidatorIndex {
			l, _, _ := e.Leader()
			return l
		},
	}, nil
}

// acceptsTypes is a protocol's set of message types.
func acceptsTypes(ts ...types.MsgType) func(types.MsgType) bool {
	set := make(map[types.MsgType]bool, len(ts))
	for _, t := range ts {
		set[t] = true
	}
	return func(t types.MsgType) bool { return set[t] }
}

// pbftViewWindow is how many views ahead of its own a PBFT pre-prepare
// passes the gateway's precheck without the far-future budget: a replica
// that missed a new-view lags by a view or two.
const pbftViewWindow = 4

func newPBFT(cfg *Config, r store.Restored) (*protocol, error) {
	chainID, n := cfg.Genesis.ChainID, cfg.Set.N()
	pc := pbft.DefaultConfig(cfg.Self, n, chainID, qc.NewBLSSigner(cfg.Key), qc.NewBLSScheme(cfg.Set))
	pc.RetainCommitted = max(cfg.RetainCommitted, pc.WindowSize)
	e, err := pbft.New(pc, pbft.Restored{Safety: r.SafetyState, Blocks: r.Pending, Committed: r.Committed})
	if err != nil {
		return nil, fmt.Errorf("node: restoring pbft: %w", err)
	}
	engine, err := byzantine(cfg, e, pbftsim.Behaviours, pc.Signer, pc.Scheme)
	if err != nil {
		return nil, err
	}
	v := qc.NewVerifier(chainID, cfg.Set)
	return &protocol{
		name:       ProtocolPBFT,
		engine:     engine,
		verify:     func(m types.Message) error { return pbft.VerifyMessage(v, pc.WindowSize, m) },
		view:       func() uint64 { return e.Status().View },
		leader:     func(view uint64) types.ValidatorIndex { return pbft.Primary(view, n) },
		viewWindow: pbftViewWindow,
		quorum:     cfg.Set.Quorum(),
		accepts: acceptsTypes(types.MsgPBFTPrePrepare, types.MsgPBFTVote, types.MsgPBFTViewChange, types.MsgPBFTNewView,
			types.MsgPBFTFetch, types.MsgPBFTCommitted, types.MsgBlockRequest, types.MsgBlockResponse),
	}, nil
}

// byzantine wraps the honest engine in the named behaviour of the
// catalogue the simulator uses (DESIGN.md §5), so the very decorators
// proven in the simulator run in a real node. An empty name is honest.
func byzantine(cfg *Config, honest types.Engine, own map[string]sim.Behaviour, signer qc.Signer, scheme qc.Scheme) (types.Engine, error) {
	if cfg.Byzantine == "" {
		return honest, nil
	}
	b, ok := own[cfg.Byzantine]
	if !ok {
		b, ok = sim.GenericBehaviours[cfg.Byzantine]
	}
	if !ok {
		return nil, fmt.Errorf("node: unknown Byzantine behaviour %q (known: %s)", cfg.Byzantine, strings.Join(ByzantineBehaviours(cfg.Protocol), ", "))
	}
	env := sim.NodeEnv{
		ID: cfg.Self, N: cfg.Set.N(), ChainID: cfg.Genesis.ChainID,
		Rand:   rand.New(rand.NewPCG(uint64(cfg.Self), 0x6279)), // deterministic misbehaviour
		Signer: signer, Scheme: scheme,
	}
	return b(honest, env), nil
}

// ByzantineBehaviours lists the behaviours a node of protocol can run.
func ByzantineBehaviours(protocol string) []string {
	names := slices.Collect(maps.Keys(sim.GenericBehaviours))
	switch protocol {
	case ProtocolHotStuff:
		names = slices.AppendSeq(names, maps.Keys(hotstuffsim.Behaviours))
	case ProtocolPBFT:
		names = slices.AppendSeq(names, maps.Keys(pbftsim.Behaviours))
	case ProtocolRaft:
		names = slices.AppendSeq(names, maps.Keys(raftsim.Behaviours))
	}
	slices.Sort(names)
	return names
}
