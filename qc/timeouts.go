package qc

import (
	"fmt"
	"slices"

	"github.com/bftkit/bftkit/types"
)

// SignedTimeout is one verified HotStuff timeout: Signer gave up on View
// knowing a QC of HighQCView, and signed TimeoutSignBytes for the two.
type SignedTimeout struct {
	View       uint64
	HighQCView uint64
	Signer     types.ValidatorIndex
	Sig        []byte
}

// TimeoutQuorum is what a TimeoutCollector emits: a quorum of distinct
// members that timed out of View, with their high QC views and signatures
// in signer order. TC aggregates it into a certificate.
type TimeoutQuorum struct {
	View        uint64
	Signers     types.Bitmap
	HighQCViews []uint64
	Sigs        [][]byte
}

// TC aggregates the quorum into a timeout certificate.
func (q *TimeoutQuorum) TC(scheme Scheme) (*types.TimeoutCert, error) {
	agg, err := scheme.Aggregate(q.Sigs)
	if err != nil {
		return nil, fmt.Errorf("tc for view %d: %w", q.View, err)
	}
	return &types.TimeoutCert{View: q.View, Signers: slices.Clone(q.Signers), HighQcViews: slices.Clone(q.HighQCViews), Signature: agg}, nil
}

// TimeoutEquivocation is two timeouts for one view with different high QC
// views from one signer. An honest node keeps its timeout for a view in its
// durable safety state and only ever resends that same timeout, so two
// different ones are misbehaviour, not a retry.
type TimeoutEquivocation struct {
	Signer        types.ValidatorIndex
	View          uint64
	First, Second SignedTimeout
}

// TimeoutCollector gathers timeouts per view and emits a TimeoutCert once a
// quorum of distinct validators timed out of the same view, whatever their
// high QCs (Jolteon §4: the TC's messages differ by signer). Each signer
// counts once per view; a second timeout with a different high QC view is
// not counted and is reported, once, as equivocation. Memory is bounded as
// in Collector.
type TimeoutCollector struct {
	gate  slotGate
	views map[uint64]*viewTimeouts
}

type viewTimeouts struct {
	first    map[types.ValidatorIndex]SignedTimeout
	reported types.Bitmap
	emitted  bool
}

// NewTimeoutCollector returns an empty timeout collector.
func NewTimeoutCollector(cfg CollectorConfig) *TimeoutCollector {
	return &TimeoutCollector{gate: newSlotGate(cfg), views: make(map[uint64]*viewTimeouts)}
}

// Add records a timeout. It returns the quorum the first time the view
// reaches one, and a TimeoutEquivocation the first time the signer is seen
// sending two different timeouts for one view.
func (c *TimeoutCollector) Add(t SignedTimeout) (*TimeoutQuorum, *TimeoutEquivocation, error) {
	vt := c.views[t.View]
	prev, sent := SignedTimeout{}, false
	if vt != nil {
		prev, sent = vt.first[t.Signer]
	}
	if err := c.gate.admit(Slot{View: t.View}, t.Signer, !sent); err != nil {
		return nil, nil, err
	}
	if sent {
		if prev.HighQCView == t.HighQCView || vt.reported.Has(t.Signer) {
			return nil, nil, nil
		}
		vt.reported.Set(t.Signer)
		return nil, &TimeoutEquivocation{Signer: t.Signer, View: t.View, First: prev, Second: t}, nil
	}
	if vt == nil {
		vt = &viewTimeouts{first: make(map[types.ValidatorIndex]SignedTimeout), reported: types.NewBitmap(c.gate.cfg.N)}
		c.views[t.View] = vt
	}
	vt.first[t.Signer] = t
	c.gate.open[t.Signer]++
	if vt.emitted || len(vt.first) < c.gate.cfg.Quorum {
		return nil, nil, nil
	}
	vt.emitted = true
	return timeoutQuorum(t.View, vt, c.gate.cfg.N), nil, nil
}

func timeoutQuorum(view uint64, vt *viewTimeouts, n int) *TimeoutQuorum {
	signers := types.NewBitmap(n)
	for i := range vt.first {
		signers.Set(i)
	}
	idx := signers.Indices()
	q := &TimeoutQuorum{View: view, Signers: signers, HighQCViews: make([]uint64, len(idx)), Sigs: make([][]byte, len(idx))}
	for k, i := range idx {
		q.HighQCViews[k] = vt.first[i].HighQCView
		q.Sigs[k] = vt.first[i].Sig
	}
	return q
}

// Senders is the number of distinct validators that timed out of view; a
// pacemaker joins a view change once f+1 did.
func (c *TimeoutCollector) Senders(view uint64) int {
	if vt, ok := c.views[view]; ok {
		return len(vt.first)
	}
	return 0
}

// PruneBelow forgets every view below view and refuses timeouts for them
// from now on.
func (c *TimeoutCollector) PruneBelow(view uint64) {
	c.gate.raise(view, 0)
	for v, vt := range c.views {
		if v < view {
			for i := range vt.first {
				c.gate.open[i]--
			}
			delete(c.views, v)
		}
	}
}

// DoubleSign converts the equivocation into wire evidence.
func (e *TimeoutEquivocation) DoubleSign() *types.DoubleSign {
	return &types.DoubleSign{
		Kind: types.MsgHotStuffTimeout, Signer: e.Signer, View: e.View,
		HighQcViewA: e.First.HighQCView, SignatureA: e.First.Sig,
		HighQcViewB: e.Second.HighQCView, SignatureB: e.Second.Sig,
	}
}
