package protocol

import (
	"math/rand/v2"

	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// Engine is a consensus engine as a driver runs it: the RawNode-shaped
// types.Engine, plus what the driver reads between inputs.
type Engine interface {
	types.Engine
	// Position is where the engine stands: its current view (Raft: its
	// term) and the validator it takes to lead it.
	Position() (view uint64, leader types.ValidatorIndex)
	// Halted is nil while the engine runs. Once the engine stopped itself
	// because continuing could break safety (it decided a block that
	// conflicts with its committed chain, or a quorum vouches for another
	// history), it is the reason, and stays so: the validator must stop.
	Halted() error
}

// Env is what an engine is built from.
type Env struct {
	ID      types.ValidatorIndex
	N       int
	ChainID string
	// Rand is the engine's own seeded source: engines draw nothing from a
	// global one, so a seed replays a run.
	Rand *rand.Rand
	// Signer signs as ID; Scheme verifies and aggregates certificates.
	Signer qc.Signer
	Scheme qc.Scheme
	// Restored is what survived on disk: empty at first start.
	Restored Restored
	// RetainCommitted is how many committed blocks the engine keeps in
	// memory (0: the engine's default).
	RetainCommitted uint64
}

// Restored is an engine's durable state after a restart.
type Restored struct {
	// SafetyState is the last safety state made durable, nil if none.
	SafetyState []byte
	// Blocks are stored blocks not yet committed, by ID.
	Blocks map[types.BlockID]*types.Block
	// Committed are the last committed blocks, in height order.
	Committed []types.CommittedBlock
	// Lookup reads an older stored block by ID (nil: none beyond the above).
	Lookup func(types.BlockID) (*types.Block, error)
}
