package hotstuff

import (
	"fmt"

	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/types"
)

// Name is the protocol's name in configs and on the command line.
const Name = "hotstuff"

// Descriptor is HotStuff as a driver runs it. tune, if not nil, adjusts
// every engine's configuration after the defaults (the simulator shortens
// timeouts; canaries break a rule). A tuned election must be the same for
// every replica, and the election and ViewWindow are read from a tuned
// default configuration.
func Descriptor(tune func(*Config)) protocol.Descriptor {
	config := func(env protocol.Env) Config {
		cfg := DefaultConfig(env.ID, env.N, env.ChainID, env.Signer, env.Scheme)
		if env.RetainCommitted > 0 {
			cfg.RetainCommitted = env.RetainCommitted
		}
		if tune != nil {
			tune(&cfg)
		}
		return cfg
	}
	probe := config(protocol.Env{N: 1})
	return protocol.Descriptor{
		Name: Name,
		New: func(env protocol.Env) (protocol.Engine, error) {
			e, err := New(config(env), env.Restored)
			if err != nil {
				return nil, fmt.Errorf("hotstuff: restoring: %w", err)
			}
			return e, nil
		},
		Verify: VerifyMessage,
		Types: map[types.MsgType]protocol.Class{
			types.MsgHotStuffProposal: protocol.Proposal,
			types.MsgHotStuffVote:     protocol.Vote,
			types.MsgHotStuffTimeout:  protocol.Timeout,
			types.MsgBlockRequest:     protocol.Fetch,
			types.MsgBlockResponse:    protocol.Response,
		},
		Leader:              leaderPrecheck(probe.Election, config),
		ViewWindow:          probe.ViewWindow,
		Quorum:              types.QuorumSize,
		CommitsNeedChildren: true,
		CheckTiming: func(idleTicks float64) error {
			// An idle leader must propose well within the view timeout, or
			// its views time out while it waits.
			if limit := float64(probe.BaseTimeoutTicks) / 2; idleTicks >= limit {
				return fmt.Errorf("an idle leader waits %.1f ticks, at least half HotStuff's %d-tick view timeout", idleTicks, probe.BaseTimeoutTicks)
			}
			return nil
		},
	}
}

// leaderPrecheck is the gateway's leader function: round-robin's, which
// needs only the view. Reputation reads the leader from the chain a
// proposal extends, so only the engine can check it (nil).
func leaderPrecheck(el Election, config func(protocol.Env) Config) func(int) func(uint64) types.ValidatorIndex {
	if el != ElectRoundRobin {
		return nil
	}
	return func(n int) func(uint64) types.ValidatorIndex {
		cfg := config(protocol.Env{N: n})
		return RoundRobin{N: n, ViewsPerLeader: cfg.viewsPerLeader()}.Leader
	}
}
