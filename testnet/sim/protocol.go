package sim

import (
	"maps"
	"math/rand/v2"
	"slices"

	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// NodeEnv is what an engine is built from: its identity, the set size, a
// random source of its own derived from the run's seed, its durable state
// (empty on first start, the crash survivor on restart), a signer for its
// own index, and the scheme to aggregate certificates with.
type NodeEnv struct {
	ID      types.ValidatorIndex
	N       int
	ChainID string
	Rand    *rand.Rand
	Durable *Durable
	Signer  qc.Signer
	Scheme  qc.Scheme
}

// Behaviour turns an honest engine into a Byzantine one. It wraps the
// engine (a decorator), so honest code carries no test hooks.
type Behaviour func(honest types.Engine, env NodeEnv) types.Engine

// Protocol is an engine the simulator can run, with the Byzantine
// behaviours it knows by name.
type Protocol struct {
	Name string
	// New builds an engine; on restart env.Durable holds what survived.
	New func(env NodeEnv) types.Engine
	// Behaviours are the protocol's own Byzantine decorators by name; the
	// simulator adds the generic ones (see GenericBehaviours).
	Behaviours map[string]Behaviour
	// CoreMustInclude lists nodes the protocol cannot be live without
	// (a fixed leader); the liveness core always contains them.
	CoreMustInclude []types.ValidatorIndex
	// Validate checks a committed block beyond the generic invariants;
	// nil if the protocol adds none.
	Validate func(b types.CommittedBlock, prev *types.CommittedBlock) error
	// CheckReady checks an honest node's Ready against the safety state it
	// had durably stored before (nil at first start): that the safety state
	// only grows, that every vote or timeout leaving is covered by the
	// safety state of this Ready or an earlier one, and that certificates
	// verify (with the run's verifier). nil if none.
	CheckReady func(v *qc.Verifier, durableSafety []byte, rd *types.Ready) error
	// Verify is the protocol's gateway check of a decoded message, run on
	// every delivery before Step: signatures and certificates, as the
	// node's gateway runs it. A rejected message never reaches the engine.
	// nil for engines that sign nothing.
	Verify func(v *qc.Verifier, m types.Message) error
}

// Behaviour looks a behaviour up by name among the protocol's own and the
// generic ones.
func (p *Protocol) Behaviour(name string) (Behaviour, bool) {
	if b, ok := p.Behaviours[name]; ok {
		return b, true
	}
	b, ok := GenericBehaviours[name]
	return b, ok
}

// BehaviourNames lists every behaviour the protocol accepts, sorted.
func (p *Protocol) BehaviourNames() []string {
	names := maps.Clone(GenericBehaviours)
	maps.Copy(names, p.Behaviours)
	return slices.Sorted(maps.Keys(names))
}
