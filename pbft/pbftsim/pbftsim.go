// Package pbftsim runs the PBFT engine in the simulator: the simulator
// protocol, its gateway check and safety-state oracle, and the Byzantine
// behaviours by name. It is separate from package pbft so that the engine
// never imports the simulator.
package pbftsim

import (
	"fmt"

	"github.com/bftkit/bftkit/pbft"
	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/testnet/sim"
	"github.com/bftkit/bftkit/types"
)

// Options tune the engine the simulator builds; nil fields keep the
// defaults. Canary tests use Mutate to break a rule on purpose.
type Options struct {
	Mutate func(*pbft.Config)
}

// simWindow is the simulator's watermark window L.
const simWindow = 8

// SimConfig is the engine configuration the simulator runs: the defaults
// with a smaller window, so that checkpoints, garbage collection and
// watermark stalls all happen within a few hundred ticks.
func SimConfig(env sim.NodeEnv) pbft.Config {
	cfg := pbft.DefaultConfig(env.ID, env.N, env.ChainID, env.Signer, env.Scheme)
	cfg.CheckpointInterval, cfg.WindowSize, cfg.MaxInFlight = 4, simWindow, 4
	cfg.ViewChangeTicks, cfg.MaxViewChangeTicks, cfg.ResendTicks = 16, 128, 8
	return cfg
}

// Protocol is PBFT as the simulator runs it.
func Protocol(opts Options) *sim.Protocol {
	return &sim.Protocol{
		Name: "pbft",
		New: func(env sim.NodeEnv) types.Engine {
			cfg := SimConfig(env)
			if opts.Mutate != nil {
				opts.Mutate(&cfg)
			}
			e, err := pbft.New(cfg, pbft.Restored{Safety: env.Durable.SafetyState, Blocks: env.Durable.Blocks, Committed: env.Durable.Committed})
			if err != nil {
				panic(fmt.Sprintf("pbftsim: %v", err)) // the simulator's own config or store is wrong
			}
			return e
		},
		Behaviours: Behaviours,
		Validate:   pbft.ValidateCommitted,
		CheckReady: pbft.CheckReady,
		Verify:     func(v *qc.Verifier, m types.Message) error { return pbft.VerifyMessage(v, simWindow, m) },
	}
}
