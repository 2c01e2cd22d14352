// Package raftsim runs the Raft mode in the simulator: the simulator
// protocol, its durability oracle, and one Byzantine behaviour that shows
// what Raft does not tolerate.
package raftsim

import (
	"fmt"

	"github.com/bftkit/bftkit/raft"
	"github.com/bftkit/bftkit/testnet/sim"
	"github.com/bftkit/bftkit/types"
)

// Options tune the engine the simulator builds.
type Options struct {
	Mutate func(*raft.Config)
}

// SimConfig is the engine configuration the simulator runs: a short log
// retention, so that compaction and snapshot catch-up happen within a run.
func SimConfig(env sim.NodeEnv) raft.Config {
	cfg := raft.DefaultConfig(env.ID, env.N)
	cfg.Rand = env.Rand
	cfg.RetainEntries, cfg.MaxInFlight = 16, 4
	// The simulator has no block store to serve old blocks from, so the
	// engine keeps them all.
	cfg.RetainCommitted = 1 << 20
	return cfg
}

// Protocol is Raft as the simulator runs it.
func Protocol(opts Options) *sim.Protocol {
	return &sim.Protocol{
		Name: "raft",
		New: func(env sim.NodeEnv) types.Engine {
			cfg := SimConfig(env)
			if opts.Mutate != nil {
				opts.Mutate(&cfg)
			}
			e, err := raft.New(cfg, raft.Restored{Safety: env.Durable.SafetyState, Blocks: env.Durable.Blocks, Committed: env.Durable.Committed})
			if err != nil {
				panic(fmt.Sprintf("raftsim: %v", err)) // the simulator's own config or store is wrong
			}
			return e
		},
		Behaviours: Behaviours,
		Validate:   sim.ParentLinked,
		CheckReady: raft.CheckReady,
	}
}
