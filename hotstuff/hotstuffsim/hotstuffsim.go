// Package hotstuffsim runs the HotStuff engine in the simulator: the
// simulator protocol, its gateway check, its safety-state oracle, and the
// Byzantine behaviours by name. It is separate from package hotstuff so
// that the engine never imports the simulator.
package hotstuffsim

import (
	"fmt"

	"github.com/bftkit/bftkit/hotstuff"
	"github.com/bftkit/bftkit/testnet/sim"
	"github.com/bftkit/bftkit/types"
)

// Options tune the engine the simulator builds; nil fields keep the
// defaults. Canary tests use Mutate to break a rule on purpose.
type Options struct {
	Mutate func(*hotstuff.Config)
}

// Protocol is HotStuff as the simulator runs it.
func Protocol(opts Options) *sim.Protocol {
	return &sim.Protocol{
		Name: "hotstuff",
		New: func(env sim.NodeEnv) types.Engine {
			cfg := hotstuff.DefaultConfig(env.ID, env.N, env.ChainID, env.Signer, env.Scheme)
			cfg.BaseTimeoutTicks, cfg.MaxTimeoutTicks = 12, 96
			if opts.Mutate != nil {
				opts.Mutate(&cfg)
			}
			e, err := hotstuff.New(cfg, hotstuff.Restored{Safety: env.Durable.SafetyState, Blocks: env.Durable.Blocks, Committed: env.Durable.Committed})
			if err != nil {
				panic(fmt.Sprintf("hotstuffsim: %v", err)) // the simulator's own config is wrong
			}
			return e
		},
		Behaviours: Behaviours,
		Validate:   sim.ParentLinked,
		CheckReady: hotstuff.CheckReady,
		Verify:     hotstuff.VerifyMessage,
	}
}
