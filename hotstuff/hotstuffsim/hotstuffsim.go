// Package hotstuffsim runs the HotStuff engine in the simulator: the
// engine's own descriptor (as the node runs it) with shorter timeouts, its
// safety-state oracle, its Byzantine catalogue (package hotstuffbyz) and
// Twins. It is separate from package hotstuff so that the engine never
// imports the simulator.
package hotstuffsim

import (
	"github.com/bftkit/bftkit/hotstuff"
	"github.com/bftkit/bftkit/hotstuff/hotstuffbyz"
	"github.com/bftkit/bftkit/testnet/sim"
)

// Options tune the engine the simulator builds; nil fields keep the
// defaults. Canary tests use Mutate to break a rule on purpose.
type Options struct {
	Mutate func(*hotstuff.Config)
}

// Protocol is HotStuff as the simulator runs it: the node's descriptor,
// with shorter timeouts.
func Protocol(opts Options) *sim.Protocol {
	return &sim.Protocol{
		Descriptor: hotstuff.Descriptor(func(cfg *hotstuff.Config) {
			cfg.BaseTimeoutTicks, cfg.MaxTimeoutTicks = 12, 96
			if opts.Mutate != nil {
				opts.Mutate(cfg)
			}
		}),
		Behaviours: hotstuffbyz.Behaviours,
		Validate:   sim.ParentLinked,
		CheckReady: hotstuff.CheckReady,
	}
}
