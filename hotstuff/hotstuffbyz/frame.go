package hotstuffbyz

import (
	"slices"

	"github.com/bftkit/bftkit/hotstuff"
	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// newFrame: as leader of view v, withhold the QC of view v−1 and propose
// on the TC of v−1 instead, so that the leader of v−1 is recorded as
// failed (reputation blames the last skipped view on its leader) while
// this node is not.
//
// How: when the honest engine proposes in view v on the QC of v−1 (the
// block of another validator), the proposal is dropped, as is the
// engine's vote for it. The other replicas time out of v−1; the node
// collects their timeouts into a TC of v−1 and, as leader of v, proposes
// on the highest QC they report (the parent of the framed block), with
// the failed leaders every voter expects, the dropped block's
// transactions and a fresh signature. Timeouts that would carry the
// withheld QC carry the one before it instead, re-signed.
//
// What it can do: every view it leads after an honest leader costs one
// view timeout and puts a failure on that leader's record, so honest
// validators are excluded for a while (a repeat for as long as both
// failures are in the failure window) while this node never is: it takes
// a larger share of the rotation. Against one view per leader it stalled
// commits altogether (a rotation of three never held three consecutive
// views); with two views per leader it cannot (see
// hotstuffsim.TestFramingLeaderCannotStallOrFrameOutHonestLeaders).
//
// What it cannot do: sign as anyone else, or break safety (its proposal
// is a valid proposal on a TC); frame the leader before it when it leads
// two views in a row or that leader is itself; frame without the TC, so
// it needs 2f+1 other replicas to time out (with fewer the frame is
// abandoned once the view moves on); or leave a validator's vote out of
// QCs (the engine aggregates them, and re-aggregating them here is not
// attempted).
func newFrame(e protocol.Engine, env protocol.Env) protocol.Engine {
	f := &framer{
		honest: asHotStuff(e),
		blocks: map[types.BlockID]*types.Block{},
	}
	f.Rewriter = rewriting(e, env, nil)
	f.Rewriter.Observe = f.observe
	f.Rewriter.Rewrite = f.rewrite
	return f
}

func asHotStuff(e protocol.Engine) *hotstuff.Engine {
	h, _ := e.(*hotstuff.Engine)
	return h
}

// framer is the frame decorator. It sends messages of its own (the forged
// proposal, once the TC forms on an inbound timeout), so it extends the
// Rewriter's Ready with them.
type framer struct {
	*protocol.Rewriter
	honest *hotstuff.Engine // nil if the engine is not HotStuff's: no frames

	blocks map[types.BlockID]*types.Block // blocks seen in proposals, in and out

	view     uint64       // the view being framed (0: none)
	dropped  *types.Block // the engine's dropped proposal of view
	framed   *types.Block // the block of view−1 whose QC is withheld
	withheld *types.QuorumCert
	timeouts *qc.TimeoutCollector
	highest  *types.QuorumCert // highest QC in the collected timeouts of view−1

	pending []types.Message // to send with the next Ready
	sending []types.Message // in the Ready handed out, until Advance
	handed  bool
}

// maxFrameBlocks bounds the blocks remembered.
const maxFrameBlocks = 256

func (f *framer) remember(b *types.Block) {
	if len(f.blocks) >= maxFrameBlocks {
		for id, old := range f.blocks {
			if old.View+maxFrameBlocks/2 < b.View {
				delete(f.blocks, id)
			}
		}
		if len(f.blocks) >= maxFrameBlocks {
			clear(f.blocks)
		}
	}
	f.blocks[b.ID()] = b
}

// HasReady also reports the node's own messages.
func (f *framer) HasReady() bool { return len(f.pending) > 0 || f.Rewriter.HasReady() }

// Ready is the rewritten Ready plus the node's own messages, the same
// until Advance.
func (f *framer) Ready() types.Ready {
	rd := f.Rewriter.Ready()
	if !f.handed {
		f.sending, f.pending, f.handed = f.pending, nil, true
	}
	if len(f.sending) > 0 {
		rd.Messages = append(slices.Clip(rd.Messages), f.sending...)
	}
	return rd
}

// Advance forgets what was handed out.
func (f *framer) Advance(rd types.Ready) {
	f.Rewriter.Advance(rd)
	f.sending, f.handed = nil, false
}

// rewrite drops the proposal to frame with (and the vote for it) and keeps
// the withheld QC out of timeouts.
func (f *framer) rewrite(m types.Message) []types.Message {
	switch p := m.Payload.(type) {
	case *types.Proposal:
		b := p.Block
		f.remember(b)
		if f.startFrame(p) {
			return nil
		}
	case *types.Vote:
		if f.dropped != nil && p.View == f.dropped.View && p.BlockID == f.dropped.ID() {
			return nil
		}
	case *types.Timeout:
		if f.withheld == nil || f.framed == nil {
			break
		}
		t := *p
		if isQC(t.LatestQc, f.withheld) {
			t.LatestQc = nil
		}
		if isQC(t.HighQc, f.withheld) {
			t.HighQc = f.framed.Justify
			t.Signature = f.Sign(types.TimeoutSignBytes(f.Env.ChainID, t.View, t.HighQCView()))
		}
		m.Payload = &t
	}
	return []types.Message{m}
}

func isQC(q, w *types.QuorumCert) bool {
	return q != nil && q.View == w.View && q.BlockID == w.BlockID
}

// startFrame decides whether the engine's proposal p is one to frame
// with: on the QC of the view just before, certifying another
// validator's block that itself extends a QC.
func (f *framer) startFrame(p *types.Proposal) bool {
	b := p.Block
	if f.honest == nil || p.Tc != nil || b.Justify == nil || b.Justify.View+1 != b.View {
		return false
	}
	framed, ok := f.blocks[b.Justify.BlockID]
	if !ok || framed.Proposer == f.Env.ID || framed.Justify == nil {
		return false
	}
	f.view, f.dropped, f.framed, f.withheld, f.highest = b.View, b, framed, b.Justify, nil
	f.timeouts = qc.NewTimeoutCollector(qc.CollectorConfig{N: f.Env.N, Quorum: types.QuorumSize(f.Env.N), MaxSlotsPerSigner: 4})
	return true
}

// observe remembers blocks, abandons a frame the others moved past, and
// collects the timeouts of the framed view into a TC.
func (f *framer) observe(m types.Message) {
	switch p := m.Payload.(type) {
	case *types.Proposal:
		f.remember(p.Block)
		if f.view != 0 && p.Block.View >= f.view {
			f.view = 0
		}
	case *types.Timeout:
		if f.view == 0 {
			return
		}
		if p.View >= f.view || (p.LastTc != nil && p.LastTc.View >= f.view) {
			f.view = 0 // the others gave up on the framed view too
			return
		}
		if p.View+1 != f.view {
			return
		}
		if p.HighQc != nil && (f.highest == nil || p.HighQc.View > f.highest.View) {
			f.highest = p.HighQc
		}
		tq, _, err := f.timeouts.Add(qc.SignedTimeout{View: p.View, HighQCView: p.HighQCView(), Signer: p.Sender, Sig: p.Signature})
		if err != nil || tq == nil {
			return
		}
		if tc, err := tq.TC(f.Env.Scheme); err == nil {
			f.proposeOn(tc)
		}
		f.view = 0
	}
}

// proposeOn sends the framing proposal of the framed view on tc: it
// extends the framed block's parent, the highest QC the others reported.
func (f *framer) proposeOn(tc *types.TimeoutCert) {
	j := f.highest
	if j == nil || j.BlockID != f.framed.ParentID || j.View >= f.withheld.View {
		return // a QC the framed block does not extend: not worth the bookkeeping
	}
	failed, ok := f.honest.FailedLeaders(j.BlockID, f.view)
	if !ok {
		return
	}
	b := &types.Block{Height: f.framed.Height, View: f.view, ParentID: j.BlockID, Justify: j, Proposer: f.Env.ID,
		Txs: f.dropped.Txs, ParentAppHash: f.framed.ParentAppHash, FailedLeaders: failed}
	f.remember(b)
	f.pending = append(f.pending, types.Message{From: f.Env.ID, Broadcast: true, Payload: proposal(f.Rewriter, b, tc)})
}
