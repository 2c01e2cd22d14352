// Package pbftsim runs the PBFT engine in the simulator: the engine's own
// descriptor (as the node runs it) tuned for short runs, its safety-state
// oracle, and its Byzantine catalogue (package pbftbyz). It is separate from package pbft so that the engine
// never imports the simulator.
package pbftsim

import (
	"github.com/bftkit/bftkit/pbft"
	"github.com/bftkit/bftkit/pbft/pbftbyz"
	"github.com/bftkit/bftkit/testnet/sim"
)

// Options tune the engine the simulator builds; nil fields keep the
// defaults. Canary tests use Mutate to break a rule on purpose.
type Options struct {
	Mutate func(*pbft.Config)
}

// simWindow is the simulator's watermark window L.
const simWindow = 8

// Tune makes the simulator's configuration: the defaults with a smaller
// window, so that checkpoints, garbage collection and watermark stalls all
// happen within a few hundred ticks.
func Tune(cfg *pbft.Config) {
	cfg.CheckpointInterval, cfg.WindowSize, cfg.MaxInFlight = 4, simWindow, 4
	cfg.ViewChangeTicks, cfg.MaxViewChangeTicks, cfg.ResendTicks = 16, 128, 8
}

// Protocol is PBFT as the simulator runs it: the node's descriptor, tuned.
func Protocol(opts Options) *sim.Protocol {
	return &sim.Protocol{
		Descriptor: pbft.Descriptor(func(cfg *pbft.Config) {
			Tune(cfg)
			if opts.Mutate != nil {
				opts.Mutate(cfg)
			}
		}),
		Behaviours: pbftbyz.Behaviours,
		Validate:   pbft.ValidateCommitted,
		CheckReady: pbft.CheckReady,
	}
}
