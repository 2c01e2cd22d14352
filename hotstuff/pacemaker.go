package hotstuff

import (
	"slices"

	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// timeoutTicks is the current view's timeout: the base (stretched to fit
// recent views, see adaptedBase), doubled for each consecutive view that
// ended in a TC beyond the first BackoffAfter, capped (exponential
// back-off, so that views eventually outlast any delay after the network
// stabilises).
func (e *Engine) timeoutTicks() int {
	t := e.adaptedBase()
	doublings := int(e.s.ConsecutiveTimeouts) - e.cfg.BackoffAfter
	for k := 0; k < doublings && t < e.cfg.MaxTimeoutTicks; k++ {
		t *= 2
	}
	return min(t, e.cfg.MaxTimeoutTicks)
}

// adaptedBase is the base timeout, or AdaptFactor times the median of the
// last recentViews views that ended in a QC if that is longer (never
// beyond MaxTimeoutTicks): a load under which views take long gets a
// timeout to match, while the configured base stays short for a fast
// network. The median, not the slowest, so that one view delayed by a
// fault does not lengthen the timeouts that recover from the next. Views
// are measured in ticks, so a seed replays.
func (e *Engine) adaptedBase() int {
	views := e.recentViews
	slices.Sort(views[:])
	return min(max(e.cfg.BaseTimeoutTicks, e.cfg.AdaptFactor*views[recentViews/2]), e.cfg.MaxTimeoutTicks)
}

// recentViews is how many successful views the adapted timeout looks at.
const recentViews = 16

// viewSucceeded records how long the current view took, as a QC ends it.
func (e *Engine) viewSucceeded() {
	e.recentViews[e.recentNext%recentViews] = e.ticksInView
	e.recentNext++
}

// Tick advances the view timer; at the timeout the replica gives up on the
// view. A timeout already sent is resent every timeout period, since
// timeouts are the only way out of a view whose messages were lost, and
// counted again locally: after a restart the collector is empty, and a
// replica that forgets its own timeout can leave a quorum one short.
func (e *Engine) Tick() {
	e.ticks++
	e.ticksInView++
	e.retryFetches()
	period := e.timeoutTicks()
	switch {
	case e.s.TimeoutView < e.s.View && e.ticksInView >= period:
		e.timeOut()
	case e.s.TimeoutView == e.s.View && e.ticksInView%period == 0:
		t := e.timeoutMessage()
		e.broadcast(t)
		e.handleTimeout(t)
	}
}

// timeOut gives up on the current view: the promise not to vote in it is
// durable (timeout_view) before the timeout leaves.
func (e *Engine) timeOut() {
	e.s.TimeoutView, e.s.TimeoutHighQcView, e.s.TimeoutHighQc = e.s.View, qcView(e.s.HighQc), e.s.HighQc
	e.dirty = true
	t := e.timeoutMessage()
	e.broadcast(t)
	e.handleTimeout(t)
}

// timeoutMessage re-signs the one timeout of the current view, with the
// high QC it first carried (BLS and the hash scheme are deterministic, so
// a resend is the same message, never a second, conflicting one).
func (e *Engine) timeoutMessage() *types.Timeout {
	t := &types.Timeout{View: e.s.TimeoutView, Sender: e.cfg.ID, HighQc: e.s.TimeoutHighQc, LastTc: e.s.HighTc}
	if qcView(e.s.HighQc) > e.s.TimeoutHighQcView {
		t.LatestQc = e.s.HighQc // spread what was learned since, unsigned
	}
	t.Signature = e.cfg.Signer.Sign(types.TimeoutSignBytes(e.cfg.ChainID, t.View, e.s.TimeoutHighQcView))
	return t
}

// handleTimeout collects a timeout (own or a peer's). Its high QC may move
// this replica forward; f+1 timeouts for a view at or above ours make it
// join them (at least one honest replica gave up, Jolteon §4 "Bracha-style
// echo"); 2f+1 form a TC that ends the view.
func (e *Engine) handleTimeout(t *types.Timeout) {
	e.heard(t.Sender, t.View)
	e.processQC(t.HighQc, t.Sender)
	e.processQC(t.LatestQc, t.Sender)
	e.processTC(t.LastTc)
	if t.View < e.s.View || t.View > e.s.View+e.cfg.ViewWindow {
		return
	}
	tq, ev, err := e.timeouts.Add(qc.SignedTimeout{View: t.View, HighQCView: t.HighQCView(), Signer: t.Sender, Sig: t.Signature})
	if ev != nil {
		e.out.Evidence = append(e.out.Evidence, ev.DoubleSign())
	}
	if err != nil {
		return
	}
	if tq != nil {
		tc, err := tq.TC(e.cfg.Scheme)
		if err == nil {
			e.processTC(tc)
		}
		return
	}
	if e.timeouts.Senders(t.View) > e.f && e.s.TimeoutView < t.View {
		e.enterView(t.View, nil)
		if e.s.View == t.View { // entering may itself have moved further
			e.timeOut()
		}
	}
}

// processTC moves to the view after a TC (verified at the gateway, or
// formed here).
func (e *Engine) processTC(tc *types.TimeoutCert) {
	if tc == nil || tc.View < e.s.View {
		return
	}
	e.enterView(tc.View+1, tc)
}

// enterView moves to view v, through a TC of v−1 or (tc nil) a QC or an
// echo. Views only go up.
func (e *Engine) enterView(v uint64, tc *types.TimeoutCert) {
	if v <= e.s.View {
		return
	}
	e.s.View = v
	e.s.HighTc = nil
	if tc != nil && tc.View+1 == v {
		e.s.HighTc = tc
		e.s.ConsecutiveTimeouts++
	} else {
		e.s.ConsecutiveTimeouts = 0
	}
	e.dirty = true
	e.enteredView()
}

// enteredView resets the timer, forgets what is too old, replays buffered
// proposals of the new view, and asks for a payload if this replica leads.
func (e *Engine) enteredView() {
	v := e.s.View
	e.ticksInView = 0
	e.votes.PruneBelow(v-1, 0) // votes of v−1 make the QC that v's leader needs
	e.timeouts.PruneBelow(v)
	for view := range e.proposals {
		if view+e.cfg.ViewWindow < v {
			delete(e.proposals, view)
		}
	}
	e.replayBuffered()
	e.maybeAskPayload()
}

// maybeAskPayload asks the driver for transactions when this replica leads
// the current view, has not proposed in it, and knows the block to extend.
func (e *Engine) maybeAskPayload() {
	v := e.s.View
	if e.s.ProposedView >= v || e.payloadAsked == v {
		return
	}
	if !validProposalJustification(v, qcView(e.s.HighQc), e.s.HighTc) {
		return // entered by an echo: wait for the QC or TC of v−1
	}
	parent, missing, whole := e.wholeChain(qcBlock(e.s.HighQc))
	if parent == nil {
		return // processQC fetches the high QC's block
	}
	if !whole {
		e.fetch(missing, parent.Proposer) // the schedule needs the whole chain
		return
	}
	if e.leaderAfter(parent, v) != e.cfg.ID {
		return
	}
	e.payloadAsked, e.askedParent = v, qcBlock(e.s.HighQc)
	e.out.PayloadRequest = &types.PayloadRequest{View: v, Height: parent.Height + 1, ParentID: qcBlock(e.s.HighQc), MaxTxs: e.cfg.MaxTxs, MaxBytes: e.cfg.MaxBytes}
}
