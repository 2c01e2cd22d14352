package toy

import (
	"errors"
	"fmt"

	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/testnet/sim"
	"github.com/bftkit/bftkit/types"
)

// Sequencer messages, on the shared wire types:
//   - Proposal (leader → all): the block for the next height;
//   - Vote (replica → leader): "I stored block BlockID at height View";
//   - PBFTPrePrepare (leader → replica): "block Seq is committed; here it is";
//   - PBFTVote, phase commit (replica → leader): "the next height I need is Seq".
const (
	leader          types.ValidatorIndex = 0
	retransmitTicks                      = 4
	catchUpBatch                         = 8
	maxTxsPerBlock                       = 16
)

// Sequencer is the safe toy engine; see the package comment.
type Sequencer struct {
	id      types.ValidatorIndex
	n       int
	quorum  int
	ticks   uint64
	blocks  map[types.BlockID]*types.Block
	applied []types.CommittedBlock // committed, as the node applied them
	// leader state
	pending   *types.Block // proposal at height len(applied)+1, awaiting votes
	votes     types.Bitmap
	askedFor  bool
	peerUpTo  []uint64 // highest height each replica said it applied
	out       types.Ready
	newSafety bool
}

// NewSequencer builds a sequencer from its environment, restoring the
// pending proposal (leader) and the applied chain after a restart.
func NewSequencer(env protocol.Env) (protocol.Engine, error) {
	s := &Sequencer{
		id: env.ID, n: env.N, quorum: types.QuorumSize(env.N),
		blocks:   make(map[types.BlockID]*types.Block),
		applied:  append([]types.CommittedBlock(nil), env.Restored.Committed...),
		peerUpTo: make([]uint64, env.N),
	}
	for id, b := range env.Restored.Blocks {
		s.blocks[id] = b
	}
	if id, ok := decodePending(env.Restored.SafetyState); ok && s.id == leader {
		if b := s.blocks[id]; b != nil && b.Height == s.height()+1 {
			s.startRound(b)
		}
	}
	return s, nil
}

// SequencerProtocol is the sequencer as the simulator runs it.
func SequencerProtocol() *sim.Protocol {
	return &sim.Protocol{
		Descriptor:      protocol.Descriptor{Name: "sequencer", New: NewSequencer, Types: toyTypes, Quorum: types.QuorumSize},
		CoreMustInclude: []types.ValidatorIndex{leader},
		Validate:        sim.ParentLinked,
	}
}

func (s *Sequencer) height() uint64 { return uint64(len(s.applied)) }

func (s *Sequencer) lastID() types.BlockID {
	if len(s.applied) == 0 {
		return types.BlockID{}
	}
	return s.applied[len(s.applied)-1].ID
}

// Tick asks for a payload when the leader is idle, and retransmits.
func (s *Sequencer) Tick() {
	s.ticks++
	if s.id != leader {
		return
	}
	if s.pending == nil && !s.askedFor {
		s.askedFor = true
		s.out.PayloadRequest = &types.PayloadRequest{Height: s.height() + 1, ParentID: s.lastID(), MaxTxs: maxTxsPerBlock, MaxBytes: types.MaxBlockBytes}
	}
	if s.ticks%retransmitTicks != 0 {
		return
	}
	if s.pending != nil {
		s.broadcast(&types.Proposal{Block: s.pending, Signature: zeroSig})
	}
	for i := range s.n {
		if r := types.ValidatorIndex(i); r != s.id {
			s.sendCommitted(r, s.peerUpTo[i]+1)
		}
	}
}

// Propose builds the next block from the payload. The block is made
// durable (and the proposal recorded) before it is sent.
func (s *Sequencer) Propose(p types.ProposalPayload) error {
	if s.id != leader || s.pending != nil {
		return errors.New("sequencer: no payload was requested")
	}
	s.askedFor = false
	b := &types.Block{Height: s.height() + 1, View: 1, ParentID: s.lastID(), Proposer: s.id, Txs: p.Txs}
	s.startRound(b)
	s.out.Blocks = append(s.out.Blocks, b)
	s.out.SafetyState = encodePending(b.ID())
	s.broadcast(&types.Proposal{Block: b, Signature: zeroSig})
	return nil
}

func (s *Sequencer) startRound(b *types.Block) {
	s.pending = b
	s.blocks[b.ID()] = b
	s.votes = types.NewBitmap(s.n)
	s.votes.Set(s.id)
}

// Step handles one message.
func (s *Sequencer) Step(m types.Message) error {
	switch p := m.Payload.(type) {
	case *types.Proposal:
		return s.handleProposal(m.From, p.Block)
	case *types.Vote:
		return s.handleVote(m.From, p)
	case *types.PBFTPrePrepare:
		return s.handleCommitted(m.From, p.Block)
	case *types.PBFTVote:
		if s.id == leader && p.Phase == types.PhaseCommit {
			s.peerUpTo[m.From] = max(s.peerUpTo[m.From], p.Seq-1)
		}
		return nil
	}
	return fmt.Errorf("sequencer: unexpected %v", m.Payload.MsgType())
}

// handleProposal stores the next block and votes for it. The block is in
// this Ready's Blocks, so it is durable before the vote leaves.
func (s *Sequencer) handleProposal(from types.ValidatorIndex, b *types.Block) error {
	if from != leader || b.Height != s.height()+1 || b.ParentID != s.lastID() {
		return fmt.Errorf("sequencer: proposal for height %d does not extend height %d", b.Height, s.height())
	}
	id := b.ID()
	if _, ok := s.blocks[id]; !ok {
		s.blocks[id] = b
		s.out.Blocks = append(s.out.Blocks, b)
	}
	s.send(leader, &types.Vote{View: b.Height, BlockID: id, Voter: s.id, Signature: zeroSig})
	return nil
}

// handleVote counts a vote for the pending proposal; at a quorum the leader
// commits it and tells everyone.
func (s *Sequencer) handleVote(from types.ValidatorIndex, v *types.Vote) error {
	if s.id != leader || s.pending == nil || v.View != s.pending.Height || v.BlockID != s.pending.ID() {
		return nil // a late or duplicate vote
	}
	s.votes.Set(from)
	if s.votes.Count() < s.quorum {
		return nil
	}
	b := s.pending
	s.pending = nil
	s.commit(b)
	for i := range s.n {
		if r := types.ValidatorIndex(i); r != s.id {
			s.send(r, &types.PBFTPrePrepare{View: b.View, Seq: b.Height, Block: b, Primary: s.id, Signature: zeroSig})
		}
	}
	return nil
}

// handleCommitted applies a block the leader committed, if it is next, and
// tells the leader how far this replica got.
func (s *Sequencer) handleCommitted(from types.ValidatorIndex, b *types.Block) error {
	if from != leader {
		return fmt.Errorf("sequencer: commit from %d, not the leader", from)
	}
	if b.Height == s.height()+1 && b.ParentID == s.lastID() {
		s.commit(b)
	}
	s.send(leader, &types.PBFTVote{Phase: types.PhaseCommit, Seq: s.height() + 1, Replica: s.id, Signature: zeroSig})
	return nil
}

func (s *Sequencer) commit(b *types.Block) {
	cb := types.CommittedBlock{ID: b.ID(), Block: b}
	s.applied = append(s.applied, cb)
	s.out.Committed = append(s.out.Committed, cb)
}

// sendCommitted resends committed blocks from height `from`, a few at a time.
func (s *Sequencer) sendCommitted(to types.ValidatorIndex, from uint64) {
	for h := from; h <= s.height() && h < from+catchUpBatch; h++ {
		b := s.applied[h-1].Block
		s.send(to, &types.PBFTPrePrepare{View: b.View, Seq: b.Height, Block: b, Primary: s.id, Signature: zeroSig})
	}
}

func (s *Sequencer) send(to types.ValidatorIndex, p types.Payload) {
	s.out.Messages = append(s.out.Messages, types.Message{From: s.id, To: to, Payload: p})
}

func (s *Sequencer) broadcast(p types.Payload) {
	s.out.Messages = append(s.out.Messages, types.Message{From: s.id, Broadcast: true, Payload: p})
}

func (s *Sequencer) HasReady() bool      { return !s.out.IsEmpty() }
func (s *Sequencer) Ready() types.Ready  { return s.out }
func (s *Sequencer) Advance(types.Ready) { s.out = types.Ready{} }

func encodePending(id types.BlockID) []byte { return append([]byte("pending:"), id[:]...) }

func decodePending(b []byte) (types.BlockID, bool) {
	var id types.BlockID
	if len(b) != len("pending:")+len(id) {
		return id, false
	}
	copy(id[:], b[len("pending:"):])
	return id, true
}

// Position: the sequencer has one fixed leader and no views.
func (s *Sequencer) Position() (uint64, types.ValidatorIndex) { return 0, leader }

// Halted: the sequencer never stops itself.
func (s *Sequencer) Halted() error { return nil }

// toyTypes are the wire types the toy engines borrow. To the driver they
// are all plain votes: no leader precheck, nothing fetched.
var toyTypes = map[types.MsgType]protocol.Class{
	types.MsgHotStuffProposal: protocol.Vote,
	types.MsgHotStuffVote:     protocol.Vote,
	types.MsgPBFTPrePrepare:   protocol.Vote,
	types.MsgPBFTVote:         protocol.Vote,
}
