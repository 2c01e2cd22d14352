package toy

import (
	"errors"

	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/testnet/sim"
	"github.com/bftkit/bftkit/types"
)

// eagerTimeoutTicks is how long an Eager node waits for progress before it
// moves to the next view, on its own.
const eagerTimeoutTicks = 12

// Eager is the deliberately unsafe toy engine: the leader of view v
// (v mod n) commits its own proposal as soon as it makes it, and replicas
// commit any proposal that extends their chain. Nothing stops two leaders
// of different views from committing different blocks at one height, which
// is exactly what the simulator must catch. Never use it for anything else.
//
// Messages: Proposal (leader → all) carries the committed block.
type Eager struct {
	id       types.ValidatorIndex
	n        int
	view     uint64
	idle     int
	proposed bool
	asked    bool
	applied  []types.CommittedBlock
	out      types.Ready
}

// NewEager builds an Eager engine.
func NewEager(env protocol.Env) (protocol.Engine, error) {
	return &Eager{id: env.ID, n: env.N, view: 1, applied: append([]types.CommittedBlock(nil), env.Restored.Committed...)}, nil
}

// EagerProtocol is the unsafe engine as the simulator runs it.
func EagerProtocol() *sim.Protocol {
	return &sim.Protocol{Descriptor: protocol.Descriptor{Name: "eager", New: NewEager, Types: toyTypes, Quorum: types.QuorumSize}}
}

func (e *Eager) leads() bool { return types.ValidatorIndex(e.view%uint64(e.n)) == e.id }

func (e *Eager) lastID() types.BlockID {
	if len(e.applied) == 0 {
		return types.BlockID{}
	}
	return e.applied[len(e.applied)-1].ID
}

// Tick moves to the next view after a quiet spell, and asks for a payload
// when this node leads a view it has not proposed in.
func (e *Eager) Tick() {
	e.idle++
	if e.idle > eagerTimeoutTicks {
		e.view++
		e.idle, e.proposed, e.asked = 0, false, false
	}
	if e.leads() && !e.proposed && !e.asked {
		e.asked = true
		e.out.PayloadRequest = &types.PayloadRequest{View: e.view, Height: uint64(len(e.applied)) + 1, MaxTxs: maxTxsPerBlock}
	}
}

// Propose commits the new block at once: the unsafe rule.
func (e *Eager) Propose(p types.ProposalPayload) error {
	if !e.leads() || e.proposed || p.View != e.view {
		return errors.New("eager: no payload was requested for this view")
	}
	e.proposed = true
	b := &types.Block{Height: uint64(len(e.applied)) + 1, View: e.view, ParentID: e.lastID(), Proposer: e.id, Txs: p.Txs}
	e.commit(b)
	e.out.Messages = append(e.out.Messages, types.Message{From: e.id, Broadcast: true, Payload: &types.Proposal{Block: b, Signature: zeroSig}})
	return nil
}

// Step commits any proposal that extends this node's chain.
func (e *Eager) Step(m types.Message) error {
	p, ok := m.Payload.(*types.Proposal)
	if !ok {
		return errors.New("eager: unexpected message")
	}
	b := p.Block
	if b.View > e.view {
		e.view, e.proposed, e.asked = b.View, false, false
	}
	if b.Height == uint64(len(e.applied))+1 && b.ParentID == e.lastID() {
		e.commit(b)
	}
	return nil
}

func (e *Eager) commit(b *types.Block) {
	e.idle = 0
	cb := types.CommittedBlock{ID: b.ID(), Block: b}
	e.applied = append(e.applied, cb)
	e.out.Committed = append(e.out.Committed, cb)
}

// Position is the view and its leader.
func (e *Eager) Position() (uint64, types.ValidatorIndex) {
	return e.view, types.ValidatorIndex(e.view % uint64(e.n))
}

// Halted: the unsafe engine never notices.
func (e *Eager) Halted() error { return nil }

func (e *Eager) HasReady() bool      { return !e.out.IsEmpty() }
func (e *Eager) Ready() types.Ready  { return e.out }
func (e *Eager) Advance(types.Ready) { e.out = types.Ready{} }
