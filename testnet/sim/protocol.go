package sim

import (
	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// Protocol is an engine the simulator can run: the engine package's own
// descriptor (the very one the node runs), the Byzantine behaviours it
// knows by name, and the oracle's protocol-specific checks.
type Protocol struct {
	protocol.Descriptor
	// Behaviours are the protocol's own Byzantine decorators by name;
	// the generic ones (protocol.GenericBehaviours) come with them.
	Behaviours protocol.Catalogue
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
}

// Behaviour looks a behaviour up by name among the protocol's own and the
// generic ones.
func (p *Protocol) Behaviour(name string) (protocol.Behaviour, bool) {
	b, err := p.Behaviours.Lookup(name)
	return b, err == nil
}

// BehaviourNames lists every behaviour the protocol accepts, sorted.
func (p *Protocol) BehaviourNames() []string { return p.Behaviours.Names() }
