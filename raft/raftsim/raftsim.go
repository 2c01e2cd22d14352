// Package raftsim runs the Raft mode in the simulator: the engine's own
// descriptor (as the node runs it) tuned for short runs, its durability
// oracle, and the one Byzantine behaviour (package raftbyz) that shows
// what Raft does not tolerate.
package raftsim

import (
	"github.com/bftkit/bftkit/raft"
	"github.com/bftkit/bftkit/raft/raftbyz"
	"github.com/bftkit/bftkit/testnet/sim"
)

// Options tune the engine the simulator builds.
type Options struct {
	Mutate func(*raft.Config)
}

// Tune makes the simulator's configuration: a short log retention, so
// that compaction and snapshot catch-up happen within a run.
func Tune(cfg *raft.Config) {
	cfg.RetainEntries, cfg.MaxInFlight = 16, 4
}

// Protocol is Raft as the simulator runs it: the node's descriptor, tuned.
func Protocol(opts Options) *sim.Protocol {
	return &sim.Protocol{
		Descriptor: raft.Descriptor(func(cfg *raft.Config) {
			Tune(cfg)
			if opts.Mutate != nil {
				opts.Mutate(cfg)
			}
		}),
		Behaviours: raftbyz.Behaviours,
		Validate:   sim.ParentLinked,
		CheckReady: raft.CheckReady,
	}
}
