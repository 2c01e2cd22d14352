package pbft

import (
	"fmt"
	"maps"
	"slices"

	"github.com/bftkit/bftkit/types"
)

// This file is the view change (§4.4) and its liveness rules (§4.5.2).

// startViewChange moves to view v and broadcasts a view-change carrying
// the stable checkpoint proof C and the prepared certificates P. The
// replica then accepts nothing but checkpoints, view-changes and new-views
// until it enters v.
func (e *Engine) startViewChange(v uint64) {
	e.view, e.changing, e.nv = v, true, nil
	e.awaitingPayload = false
	e.consecutiveVC++
	e.idle, e.vcTimer = 0, false
	vc := &types.PBFTViewChange{View: v, Replica: e.cfg.ID, Stable: e.stable, Prepared: e.preparedSet()}
	vc.Signature = e.signBody(types.ViewChangeSignBytes, v, vc.BodyHash)
	e.myVC = vc
	e.vcs[e.cfg.ID] = vc
	e.forgetOldViews()
	e.dirty()
	e.broadcast(vc)
	e.afterViewChange()
}

// signBody signs a view-change or new-view over the hash of its body.
func (e *Engine) signBody(signBytes func(string, uint64, []byte) []byte, view uint64, body func() ([]byte, error)) []byte {
	h, err := body()
	if err != nil {
		// Marshalling a message this engine built cannot fail.
		panic(fmt.Sprintf("pbft: encode own message: %v", err))
	}
	return e.sign(signBytes(e.cfg.ChainID, view, h))
}

// preparedSet is P: the highest-view prepared certificate of every number
// above the stable checkpoint.
func (e *Engine) preparedSet() []*types.PBFTPrepared {
	var out []*types.PBFTPrepared
	for _, seq := range e.sortedSeqs() {
		if p := e.log[seq].prepared; p != nil && seq > e.low {
			out = append(out, p)
		}
	}
	return out
}

// forgetOldViews drops the vote counts of views below the current one.
func (e *Engine) forgetOldViews() {
	pruneQuorums(e.prepQ, e.view, e.low)
	pruneQuorums(e.commitQ, e.view, e.low)
	e.prepares.PruneBelow(e.view, e.low+1)
	e.commits.PruneBelow(e.view, e.low+1)
	for _, s := range e.log {
		s.commit = nil
	}
}

// onViewChange records the sender's latest view-change. One for the view
// this replica is already running normally comes from a replica that
// missed the new-view; the primary sends it again.
func (e *Engine) onViewChange(vc *types.PBFTViewChange) error {
	if vc.View < e.view || (vc.View == e.view && !e.changing) {
		if vc.View == e.view {
			e.answerLateViewChange(vc.Replica)
		}
		return fmt.Errorf("view-change for view %d in view %d: %w", vc.View, e.view, ErrWrongView)
	}
	if prev := e.vcs[vc.Replica]; prev != nil && prev.View >= vc.View {
		return nil
	}
	e.vcs[vc.Replica] = vc
	if v := joinView(e.view, e.othersVCViews(), e.f); v > 0 {
		e.startViewChange(v)
		return nil
	}
	e.afterViewChange()
	return nil
}

// answerLateViewChange sends the new-view of the current view to a replica
// still asking for it. The primary answers the first late view-change: it
// usually crossed the new-view on the wire. Any replica answers a repeated
// one, so that a lagging replica still gets in after the primary
// restarted (the new-view is kept in memory only). Each replica answers
// each lagging one once per view.
func (e *Engine) answerLateViewChange(r types.ValidatorIndex) {
	if e.nv == nil || e.nvAnswered[r] == e.view {
		return
	}
	repeat := e.lateVC[r] == e.view
	e.lateVC[r] = e.view
	if e.nv.Primary == e.cfg.ID || repeat {
		e.nvAnswered[r] = e.view
		e.send(r, e.nv)
	}
}

func (e *Engine) othersVCViews() []uint64 {
	var out []uint64
	for i, vc := range e.vcs {
		if i != e.cfg.ID {
			out = append(out, vc.View)
		}
	}
	return out
}

// vcsFor lists the view-changes for view v, by replica.
func (e *Engine) vcsFor(v uint64) []*types.PBFTViewChange {
	var out []*types.PBFTViewChange
	for _, i := range slices.Sorted(maps.Keys(e.vcs)) {
		if e.vcs[i].View == v {
			out = append(out, e.vcs[i])
		}
	}
	return out
}

// afterViewChange starts the view-change timer once a quorum is changing
// to this view or a later one (§4.5.2 starts it on 2f+1 view-changes for
// the view, so that a replica does not race ahead alone; counting later
// views too keeps a replica from waiting forever for a view-change that
// its sender replaced with one for the next view when its own timer
// expired). The new primary sends the new-view once a quorum asked for
// exactly this view.
func (e *Engine) afterViewChange() {
	if !e.changing {
		return
	}
	if !e.vcTimer && e.changingAtLeast(e.view) >= e.quorum {
		e.vcTimer, e.idle = true, 0
	}
	if vcs := e.vcsFor(e.view); len(vcs) >= e.quorum && e.primary(e.view) == e.cfg.ID {
		e.sendNewView(vcs[:e.quorum])
	}
}

// changingAtLeast counts replicas whose latest view-change is for view v or
// a later one.
func (e *Engine) changingAtLeast(v uint64) int {
	n := 0
	for _, vc := range e.vcs {
		if vc.View >= v {
			n++
		}
	}
	return n
}

// sendNewView is the new primary's step (§4.4): O from V, each entry signed
// as a pre-prepare of the new view, then the primary enters the view.
func (e *Engine) sendNewView(vcs []*types.PBFTViewChange) {
	orders, stable := ComputeO(vcs)
	nv := &types.PBFTNewView{View: e.view, Primary: e.cfg.ID, ViewChanges: vcs}
	for _, o := range orders {
		nv.PrePrepares = append(nv.PrePrepares, &types.PBFTOrder{Seq: o.Seq, Digest: o.Digest,
			Signature: e.sign(types.PrePrepareSignBytes(e.cfg.ChainID, e.view, o.Seq, o.Digest))})
	}
	nv.Signature = e.signBody(types.NewViewSignBytes, e.view, nv.BodyHash)
	e.broadcast(nv)
	e.enterView(nv, stable)
}

// onNewView accepts a new-view for the view being changed to, or a later
// one (its 2f+1 view-changes prove a quorum asked for it), from that view's
// primary and with an O the backup recomputes to the same value (§4.4).
func (e *Engine) onNewView(nv *types.PBFTNewView) error {
	switch {
	case nv.View < e.view || (nv.View == e.view && !e.changing):
		return fmt.Errorf("new-view for view %d in view %d: %w", nv.View, e.view, ErrWrongView)
	case nv.Primary != e.primary(nv.View):
		return fmt.Errorf("new-view for view %d from %d: %w", nv.View, nv.Primary, ErrNotPrimary)
	case len(nv.ViewChanges) < e.quorum:
		return fmt.Errorf("new-view with %d view-changes, need %d: %w", len(nv.ViewChanges), e.quorum, ErrBadNewView)
	}
	want, stable := ComputeO(nv.ViewChanges)
	if err := e.cfg.Rules.checkNewView(nv.PrePrepares, want); err != nil {
		return fmt.Errorf("%w: %v", ErrBadNewView, err)
	}
	e.enterView(nv, stable)
	return nil
}

// enterView starts normal operation in nv's view: adopt the newest stable
// checkpoint in V, accept O's pre-prepares (sending prepares for them), and
// fetch blocks known only by digest.
func (e *Engine) enterView(nv *types.PBFTNewView, stable *types.PBFTCert) {
	e.view, e.changing, e.nv, e.myVC = nv.View, false, nv, nil
	e.idle, e.vcTimer = 0, false
	e.awaitingPayload = false
	e.forgetOldViews()
	if stable != nil && stable.Seq > e.low {
		e.makeStable(stable)
	}
	// The primary's next number comes after O, set before O's pre-prepares
	// are accepted: accepting one may execute a block and ask for the next
	// payload.
	maxS := e.low
	for _, o := range nv.PrePrepares {
		maxS = max(maxS, o.Seq)
	}
	e.nextSeq = max(maxS, e.executed) + 1
	for _, o := range nv.PrePrepares {
		if !inWatermarks(o.Seq, e.low, e.cfg.WindowSize) {
			continue // at or below h: executed and discarded
		}
		b := e.blocks[o.Digest]
		if b == nil {
			b = knownBlock(o.Seq, o.Digest)
		}
		e.acceptPrePrepare(e.slotFor(o.Seq), nv.View, o.Digest, o.Signature, b)
		if e.log[o.Seq].block == nil {
			e.wantBlock(o.Digest, o.Seq, nv.Primary)
		}
	}
	e.dirty()
	e.maybeRequestPayload()
	e.replayEarly()
}

// maxEarly bounds the messages held for a view not yet entered.
const maxEarly = 4096

// holdEarly keeps a pre-prepare or vote for the view this replica is
// changing to (or the next one) until the new-view arrives. The new
// primary's first pre-prepare travels by gossip and its new-view directly,
// so the pre-prepare often arrives first; dropped, it waited for a resend
// (measured on real processes: about 0.9 s of the 1.5 s a primary crash
// cost). Held messages go through the normal checks when replayed.
func (e *Engine) holdEarly(view uint64, p types.Payload) bool {
	if !(view == e.view && e.changing) && view != e.view+1 {
		return false
	}
	if len(e.early) < min(maxEarly, 2*e.cfg.N*int(e.cfg.WindowSize)) {
		e.early = append(e.early, p)
	}
	return true
}

// replayEarly steps the held messages of the view just entered and drops
// the rest.
func (e *Engine) replayEarly() {
	held := e.early
	e.early = nil
	for _, p := range held {
		switch m := p.(type) {
		case *types.PBFTPrePrepare:
			if m.View == e.view {
				_ = e.onPrePrepare(m)
			}
		case *types.PBFTVote:
			if m.View == e.view {
				_ = e.onVote(m)
			}
		}
	}
}
