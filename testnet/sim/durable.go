package sim

import (
	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/types"
)

// Durable is what survives a crash of a simulated node: exactly what its
// engine asked to be made durable through Ready, and the blocks its
// application applied. The simulator writes it before sending a Ready's
// messages, as the contract says, so a crash between the two cannot happen
// in the wrong order.
type Durable struct {
	SafetyState []byte
	Blocks      map[types.BlockID]*types.Block
	// Committed are the blocks applied to the application, in height order.
	Committed []types.CommittedBlock
	// heights indexes Committed by block ID, for the block server.
	heights map[types.BlockID]uint64
}

func newDurable() *Durable {
	return &Durable{Blocks: make(map[types.BlockID]*types.Block), heights: make(map[types.BlockID]uint64)}
}

// restored is what an engine restarts from: a copy, so that the engine
// cannot alter what is "on disk" except through Ready.
func (d *Durable) restored() protocol.Restored {
	r := protocol.Restored{
		SafetyState: append([]byte(nil), d.SafetyState...), // nil stays nil
		Blocks:      make(map[types.BlockID]*types.Block, len(d.Blocks)),
		Committed:   append([]types.CommittedBlock(nil), d.Committed...),
	}
	for id, b := range d.Blocks {
		r.Blocks[id] = b
	}
	return r
}

// commit applies b.
func (d *Durable) commit(b types.CommittedBlock) {
	d.Committed = append(d.Committed, b)
	d.heights[b.ID] = b.Block.Height
}

// Height is the height of the last applied block, 0 before the first.
func (d *Durable) Height() uint64 { return uint64(len(d.Committed)) }
