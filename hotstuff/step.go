package hotstuff

import (
	"errors"
	"fmt"

	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// Errors Step returns for messages the protocol rejects.
var (
	ErrStale       = errors.New("hotstuff: message for a past view")
	ErrNotLeader   = errors.New("hotstuff: proposal not from the view's leader")
	ErrBadProposal = errors.New("hotstuff: proposal breaks a protocol rule")
)

// Step handles one message that passed the gateway (VerifyMessage).
func (e *Engine) Step(m types.Message) error {
	switch p := m.Payload.(type) {
	case *types.Proposal:
		return e.handleProposal(p)
	case *types.Vote:
		return e.handleVote(p)
	case *types.Timeout:
		e.handleTimeout(p)
		return nil
	case *types.BlockResponse:
		e.handleBlockResponse(p)
		return nil
	}
	return fmt.Errorf("hotstuff: unexpected %v", m.Payload.MsgType())
}

// Propose builds, signs and broadcasts this view's block from the payload,
// then votes for it like any replica. proposed_view and the block are made
// durable before the proposal leaves.
func (e *Engine) Propose(p types.ProposalPayload) error {
	v := e.s.View
	if p.View != v || e.s.ProposedView >= v {
		return fmt.Errorf("hotstuff: no proposal is due in view %d", p.View)
	}
	parentID := qcBlock(e.s.HighQc)
	if parentID != e.askedParent {
		// The high QC rose since the request: the payload (and its parent
		// app hash) was made for another parent. Ask again.
		e.payloadAsked = 0
		e.maybeAskPayload()
		return fmt.Errorf("hotstuff: payload for parent %v, but view %d now extends %v", e.askedParent, v, parentID)
	}
	parent, ok := e.block(parentID)
	if !ok {
		return fmt.Errorf("hotstuff: parent %v of view %d's block is missing", parentID, v)
	}
	if e.leaderAfter(parent, v) != e.cfg.ID {
		return fmt.Errorf("hotstuff: no proposal is due in view %d: another validator leads it", v)
	}
	if err := e.checkPayload(p); err != nil {
		return err
	}
	b := &types.Block{Height: parent.Height + 1, View: v, ParentID: parentID, Justify: e.s.HighQc,
		Proposer: e.cfg.ID, Txs: p.Txs, ParentAppHash: p.ParentAppHash, FailedLeaders: e.failedLeaders(parent, v), Heard: e.heardBitmap(v)}
	prop := &types.Proposal{Block: b}
	if qcView(e.s.HighQc)+1 != v {
		prop.Tc = e.s.HighTc
	}
	id := b.ID()
	prop.Signature = e.cfg.Signer.Sign(types.ProposalSignBytes(e.cfg.ChainID, v, id))
	e.s.ProposedView, e.dirty = v, true
	e.store(id, b)
	e.broadcast(prop)
	return e.handleProposalID(prop, id)
}

// checkPayload checks the driver's payload against the limits it was given.
func (e *Engine) checkPayload(p types.ProposalPayload) error {
	if len(p.Txs) > e.cfg.MaxTxs {
		return fmt.Errorf("hotstuff: payload of %d txs exceeds %d", len(p.Txs), e.cfg.MaxTxs)
	}
	total := 0
	for _, tx := range p.Txs {
		total += len(tx)
	}
	if total > e.cfg.MaxBytes {
		return fmt.Errorf("hotstuff: payload of %d bytes exceeds %d", total, e.cfg.MaxBytes)
	}
	return nil
}

// handleProposal processes a proposal: its QC and TC move the replica
// forward, then the block is checked, stored and, if the safety rules
// allow, voted for.
func (e *Engine) handleProposal(p *types.Proposal) error {
	return e.handleProposalID(p, p.Block.ID())
}

// handleProposalID is handleProposal with the block's ID already computed
// (hashing a full block costs about a third of a signature check).
func (e *Engine) handleProposalID(p *types.Proposal, id types.BlockID) error {
	b := p.Block
	parent, missing, whole := e.wholeChain(b.ParentID)
	if !whole {
		// The leader is read from the parent's chain, so it cannot be
		// checked yet; the certificates (verified at the gateway) still
		// move this replica forward, and the proposal waits for the chain.
		e.processQC(b.Justify, b.Proposer)
		e.processTC(p.Tc)
		if b.View >= e.s.View {
			e.park(p)
			e.fetch(missing, b.Proposer)
		}
		return nil
	}
	if e.leaderAfter(parent, b.View) != b.Proposer {
		return ErrNotLeader
	}
	if ev := e.checkEquivocation(p, id); ev != nil {
		e.out.Evidence = append(e.out.Evidence, ev)
		return fmt.Errorf("%w: two proposals in view %d", ErrBadProposal, b.View)
	}
	e.processQC(b.Justify, b.Proposer)
	e.processTC(p.Tc)
	switch {
	case b.View < e.s.View:
		// Too late to vote for, but the block is likely the parent of the
		// next proposal: a replica catching up that dropped it stayed one
		// block behind, parking every proposal, and never voted again.
		if wellFormed(b) && b.Height == parent.Height+1 {
			e.store(id, b)
		}
		return ErrStale
	case b.View > e.s.View:
		e.buffer(p)
		return nil
	}
	if !e.cfg.Rules.ValidJustification(b.View, qcView(b.Justify), p.Tc) {
		return fmt.Errorf("%w: view %d justified by neither a QC nor a TC of view %d", ErrBadProposal, b.View, b.View-1)
	}
	if b.ParentID != qcBlock(b.Justify) {
		return fmt.Errorf("%w: parent is not the justified block", ErrBadProposal)
	}
	if b.Height != parent.Height+1 {
		return fmt.Errorf("%w: height %d after parent height %d", ErrBadProposal, b.Height, parent.Height)
	}
	if !e.checkFailedLeaders(b, parent) {
		return fmt.Errorf("%w: failed leaders %v do not match this replica's schedule", ErrBadProposal, b.FailedLeaders)
	}
	e.store(id, b)
	e.maybeVote(b, id)
	e.resumeHighQC()
	return nil
}

// seenProposal is what equivocation evidence needs of a view's first
// proposal: its block ID and its signature.
type seenProposal struct {
	id        types.BlockID
	signature []byte
}

// checkEquivocation remembers the first proposal of each view and returns
// evidence if a second, different one arrives.
func (e *Engine) checkEquivocation(p *types.Proposal, id types.BlockID) *types.DoubleSign {
	first, seen := e.proposals[p.Block.View]
	if !seen {
		if p.Block.View+e.cfg.ViewWindow >= e.s.View && p.Block.View <= e.s.View+e.cfg.ViewWindow {
			e.proposals[p.Block.View] = seenProposal{id: id, signature: p.Signature}
		}
		return nil
	}
	if first.id == id {
		return nil
	}
	return &types.DoubleSign{Kind: types.MsgHotStuffProposal, Signer: p.Block.Proposer, View: p.Block.View,
		DigestA: first.id, SignatureA: first.signature, DigestB: id, SignatureB: p.Signature}
}

// maybeVote votes for b if the safety rules allow; last_voted_view is
// durable before the vote leaves (same Ready, SafetyState first).
func (e *Engine) maybeVote(b *types.Block, id types.BlockID) {
	if !e.cfg.Rules.SafeToVote(b.View, e.s.LastVotedView, e.s.TimeoutView, e.extends(id, qcBlock(e.s.LockedQc)), qcView(b.Justify), qcView(e.s.LockedQc)) {
		return
	}
	e.s.LastVotedView, e.dirty = b.View, true
	vote := &types.Vote{View: b.View, BlockID: id, Voter: e.cfg.ID}
	vote.Signature = e.cfg.Signer.Sign(types.VoteSignBytes(e.cfg.ChainID, b.View, id))
	next := e.leaderAfter(b, b.View+1)
	if next == e.cfg.ID {
		e.handleVote(vote)
		return
	}
	e.send(next, vote)
}

// extends reports whether block id descends from (or is) ancestor, walking
// parents through known blocks.
func (e *Engine) extends(id, ancestor types.BlockID) bool {
	anc, ok := e.block(ancestor)
	if !ok {
		return false
	}
	for {
		if id == ancestor {
			return true
		}
		b, ok := e.block(id)
		if !ok || id.IsZero() || b.Height <= anc.Height {
			return false
		}
		id = b.ParentID
	}
}

// handleVote collects a vote as the leader of the next view; a quorum
// forms the QC that moves this replica (and, through its proposal, every
// replica) to the next view.
func (e *Engine) handleVote(v *types.Vote) error {
	e.heard(v.Voter, v.View)
	// A vote may arrive before its block: then this replica cannot tell
	// whether it leads the next view, and collects it anyway (the
	// collector is bounded per signer).
	if b, ok := e.block(v.BlockID); ok && e.leaderAfter(b, v.View+1) != e.cfg.ID {
		return nil
	}
	if v.View+1 < e.s.View || v.View > e.s.View+e.cfg.ViewWindow {
		return ErrStale
	}
	q, ev, err := e.votes.Add(qc.SignedVote{Slot: qc.Slot{View: v.View}, Digest: v.BlockID, Signer: v.Voter, Sig: v.Signature})
	if ev != nil {
		e.out.Evidence = append(e.out.Evidence, ev.DoubleSign(types.MsgHotStuffVote, types.PhaseUnknown))
	}
	if err != nil || q == nil {
		return err
	}
	cert, err := q.QC(e.cfg.Scheme)
	if err != nil {
		return err
	}
	e.processQC(cert, v.Voter)
	return nil
}

// buffer holds a proposal of a near-future view until this replica gets
// there; proposals further ahead, or beyond the bound, are dropped.
func (e *Engine) buffer(p *types.Proposal) {
	if p.Block.View > e.s.View+e.cfg.ViewWindow || len(e.buffered) >= e.cfg.MaxBuffered {
		return
	}
	for _, b := range e.buffered {
		if b.Block.View == p.Block.View && b.Block.Proposer == p.Block.Proposer {
			return // one per view and leader: a copy would only fill the buffer
		}
	}
	e.buffered = append(e.buffered, p)
}

// replayBuffered handles buffered proposals that are now current and drops
// those now stale.
func (e *Engine) replayBuffered() {
	pending := e.buffered
	e.buffered = nil
	for _, p := range pending {
		if p.Block.View >= e.s.View {
			if p.Block.View == e.s.View {
				_ = e.handleProposal(p)
				continue
			}
			e.buffered = append(e.buffered, p)
		}
	}
}
