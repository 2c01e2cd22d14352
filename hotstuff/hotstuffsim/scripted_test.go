package hotstuffsim_test

import (
	"github.com/bftkit/bftkit/protocol"
	"slices"

	"github.com/bftkit/bftkit/hotstuff"
	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// scriptedNode is a Byzantine node that a test drives step by step, for
// schedules too precise for a behaviour that only rewrites what an honest
// engine sends. It is built on protocol.Rewriter: the honest engine inside keeps
// running, so the node stays an ordinary simulator node, but everything
// that engine sends is dropped. The node's only messages are the ones the
// script asks for, signed with its own key. It observes what reaches it
// (every block, the votes sent to it as a leader, every timeout) and
// aggregates QCs and TCs from them, which the script may then withhold,
// build on or reveal.
type scriptedNode struct {
	*protocol.Rewriter
	leaders  hotstuff.RoundRobin
	votes    *qc.Collector
	timeouts *qc.TimeoutCollector

	blocks   map[types.BlockID]*types.Block
	proposed map[uint64]*types.Block             // the first block seen proposed in each view
	formed   map[uint64]*types.QuorumCert        // QCs this node aggregated, by view
	seen     map[types.BlockID]*types.QuorumCert // QCs other nodes showed it, by block
	tcs      map[uint64]*types.TimeoutCert       // TCs this node aggregated, by view
	outbox   []types.Message

	// backing, once set by back, is the QC the node reveals in its
	// timeouts and the branch it votes for, from view backFrom on.
	backing  *types.QuorumCert
	backFrom uint64
	timedOut map[uint64]bool
	voted    map[uint64]bool
}

// newScriptedNode wraps honest, silencing it.
func newScriptedNode(honest protocol.Engine, env protocol.Env, leaders hotstuff.RoundRobin) *scriptedNode {
	// No pruning: a scripted run is short, and the script may need old views.
	slots := qc.CollectorConfig{N: env.N, Quorum: 2*env.N/3 + 1, MaxSlotsPerSigner: 1 << 20}
	s := &scriptedNode{
		leaders:  leaders,
		votes:    qc.NewCollector(slots),
		timeouts: qc.NewTimeoutCollector(slots),
		blocks:   map[types.BlockID]*types.Block{},
		proposed: map[uint64]*types.Block{},
		formed:   map[uint64]*types.QuorumCert{},
		seen:     map[types.BlockID]*types.QuorumCert{},
		tcs:      map[uint64]*types.TimeoutCert{},
		timedOut: map[uint64]bool{},
		voted:    map[uint64]bool{},
	}
	s.Rewriter = &protocol.Rewriter{Engine: honest, Env: env,
		Rewrite: func(types.Message) []types.Message { return nil },
		Observe: s.observe,
	}
	return s
}

// HasReady also reports the script's own messages, so that the simulator
// sends them at the node's next tick.
func (s *scriptedNode) HasReady() bool { return len(s.outbox) > 0 || s.Rewriter.HasReady() }

// Ready is the silenced engine's work plus the script's messages.
func (s *scriptedNode) Ready() types.Ready {
	rd := s.Rewriter.Ready()
	rd.Messages = slices.Concat(rd.Messages, s.outbox)
	return rd
}

// Advance acknowledges the engine's work and the script's messages.
func (s *scriptedNode) Advance(rd types.Ready) {
	s.Rewriter.Advance(rd)
	s.outbox = nil
}

func (s *scriptedNode) observe(m types.Message) {
	switch p := m.Payload.(type) {
	case *types.Proposal:
		s.observeProposal(p)
	case *types.Vote:
		s.observeVote(p)
	case *types.Timeout:
		s.observeTimeout(p)
	case *types.BlockResponse:
		s.blocks[p.Block.ID()] = p.Block
	}
}

func (s *scriptedNode) observeProposal(p *types.Proposal) {
	b := p.Block
	id := b.ID()
	s.blocks[id] = b
	if _, ok := s.proposed[b.View]; !ok {
		s.proposed[b.View] = b
	}
	if q := b.Justify; q != nil && s.seen[q.BlockID] == nil {
		s.seen[q.BlockID] = q
	}
	if s.backing != nil && b.View >= s.backFrom && b.Proposer != s.Env.ID && s.extends(id, s.backing.BlockID) {
		s.vote(b.View, id)
	}
}

// observeVote aggregates the votes sent to this node as the next leader.
func (s *scriptedNode) observeVote(v *types.Vote) {
	if s.leaders.Leader(v.View+1) != s.Env.ID {
		return
	}
	q, _, err := s.votes.Add(qc.SignedVote{Slot: qc.Slot{View: v.View}, Digest: v.BlockID, Signer: v.Voter, Sig: v.Signature})
	if err != nil || q == nil {
		return
	}
	if cert, err := q.QC(s.Env.Scheme); err == nil && s.formed[v.View] == nil {
		s.formed[v.View] = cert
	}
}

// observeTimeout aggregates timeouts and, once backing, joins every view
// change from backFrom on, revealing the backed QC.
func (s *scriptedNode) observeTimeout(t *types.Timeout) {
	tq, _, err := s.timeouts.Add(qc.SignedTimeout{View: t.View, HighQCView: t.HighQCView(), Signer: t.Sender, Sig: t.Signature})
	if err == nil && tq != nil {
		if tc, err := tq.TC(s.Env.Scheme); err == nil {
			s.tcs[t.View] = tc
		}
	}
	if s.backing != nil && t.View >= s.backFrom && !s.timedOut[t.View] {
		s.timeOut(t.View)
	}
}

// extends reports whether block id descends from (or is) ancestor, as far
// as the blocks this node saw tell.
func (s *scriptedNode) extends(id, ancestor types.BlockID) bool {
	for {
		if id == ancestor {
			return true
		}
		b, ok := s.blocks[id]
		if !ok {
			return false
		}
		id = b.ParentID
	}
}

// propose broadcasts a block of the script's choosing: view, parent, the
// QC that justifies it (it must certify parent) and an optional TC.
func (s *scriptedNode) propose(view uint64, parent *types.Block, justify *types.QuorumCert, tc *types.TimeoutCert) *types.Block {
	b := &types.Block{Height: parent.Height + 1, View: view, ParentID: parent.ID(), Justify: justify, Proposer: s.Env.ID,
		FailedLeaders: s.skippedLeaders(parent.View, view)}
	id := b.ID()
	s.blocks[id] = b
	p := &types.Proposal{Block: b, Tc: tc, Signature: s.Sign(types.ProposalSignBytes(s.Env.ChainID, view, id))}
	s.outbox = append(s.outbox, types.Message{From: s.Env.ID, Broadcast: true, Payload: p})
	return b
}

// back makes the node reveal q in a timeout for every view from `from` on
// that an honest node times out of, and vote for every honest proposal
// from `from` on that extends q's block: it helps the branch of q to a
// quorum, as an honest node holding q as its high QC would.
func (s *scriptedNode) back(q *types.QuorumCert, from uint64) {
	s.backing, s.backFrom = q, from
}

func (s *scriptedNode) vote(view uint64, id types.BlockID) {
	next := s.leaders.Leader(view + 1)
	if s.voted[view] || next == s.Env.ID {
		return // the node never leads with its own vote: it only helps others
	}
	s.voted[view] = true
	v := &types.Vote{View: view, BlockID: id, Voter: s.Env.ID, Signature: s.Sign(types.VoteSignBytes(s.Env.ChainID, view, id))}
	s.outbox = append(s.outbox, types.Message{From: s.Env.ID, To: next, Payload: v})
}

func (s *scriptedNode) timeOut(view uint64) {
	s.timedOut[view] = true
	t := &types.Timeout{View: view, Sender: s.Env.ID, HighQc: s.backing,
		Signature: s.Sign(types.TimeoutSignBytes(s.Env.ChainID, view, s.backing.GetView()))}
	s.outbox = append(s.outbox, types.Message{From: s.Env.ID, Broadcast: true, Payload: t})
}

// skippedLeaders are the round-robin leaders of the views between a
// parent's view and view, which a well-formed block records.
func (s *scriptedNode) skippedLeaders(parentView, view uint64) []types.ValidatorIndex {
	var out []types.ValidatorIndex
	for u := max(parentView+1, view-min(view, types.MaxFailedLeaders)); u < view; u++ {
		out = append(out, s.leaders.Leader(u))
	}
	return out
}
