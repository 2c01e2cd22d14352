package node

import (
	"fmt"

	"github.com/bftkit/bftkit/hotstuff"
	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/store"
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
	// view and leader describe the engine's current position; only the
	// Ready loop calls view.
	view   func() uint64
	leader func(view uint64) types.ValidatorIndex
}

func newProtocol(cfg *Config, r store.Restored) (*protocol, error) {
	switch cfg.Protocol {
	case ProtocolHotStuff:
		return newHotStuff(cfg, r)
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
	v := qc.NewVerifier(chainID, cfg.Set)
	return &protocol{
		name:   ProtocolHotStuff,
		engine: e,
		verify: func(m types.Message) error { return hotstuff.VerifyMessage(v, m) },
		view:   e.View,
		leader: leaders.Leader,
	}, nil
}
