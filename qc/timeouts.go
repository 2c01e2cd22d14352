package qc

import (
	"fmt"

	"github.com/bftkit/bftkit/crypto"
	"github.com/bftkit/bftkit/types"
)

// SignedTimeout is one verified HotStuff timeout: Signer gave up on View
// knowing a QC of HighQCView, and signed TimeoutSignBytes for the two.
type SignedTimeout struct {
	View       uint64
	HighQCView uint64
	Signer     types.ValidatorIndex
	Sig        crypto.Signature
}

// TimeoutCollector gathers timeouts per view and emits a TimeoutCert once a
// quorum of distinct validators timed out of the same view, whatever their
// high QCs (Jolteon §4: the TC's messages differ by signer). Each signer
// counts once per view; a second timeout with a different high QC view is
// not counted and is reported, once, as equivocation.
type TimeoutCollector struct {
	n, quorum, maxViews int
	views               map[uint64]*viewTimeouts
}

type viewTimeouts struct {
	first    map[types.ValidatorIndex]SignedTimeout
	reported types.Bitmap
	emitted  bool
}

// NewTimeoutCollector returns a collector for n validators that emits a TC
// at quorum timeouts and keeps at most maxViews views open.
func NewTimeoutCollector(n, quorum, maxViews int) *TimeoutCollector {
	return &TimeoutCollector{n: n, quorum: quorum, maxViews: maxViews, views: make(map[uint64]*viewTimeouts)}
}

// Add records a timeout. It returns the TC the first time the view reaches a
// quorum, and an Equivocation the first time the signer is seen sending two
// different timeouts for one view.
func (c *TimeoutCollector) Add(t SignedTimeout) (*types.TimeoutCert, *Equivocation, error) {
	if int(t.Signer) >= c.n {
		return nil, nil, fmt.Errorf("timeout collector: signer %d: %w", t.Signer, ErrNonMember)
	}
	vt, err := c.view(t.View)
	if err != nil {
		return nil, nil, err
	}
	if prev, sent := vt.first[t.Signer]; sent {
		if prev.HighQCView == t.HighQCView || vt.reported.Has(t.Signer) {
			return nil, nil, nil
		}
		vt.reported.Set(t.Signer)
		return nil, timeoutEquivocation(prev, t), nil
	}
	vt.first[t.Signer] = t
	if vt.emitted || len(vt.first) < c.quorum {
		return nil, nil, nil
	}
	vt.emitted = true
	return c.certificate(t.View, vt), nil, nil
}

func (c *TimeoutCollector) view(v uint64) (*viewTimeouts, error) {
	if vt, ok := c.views[v]; ok {
		return vt, nil
	}
	if len(c.views) >= c.maxViews {
		return nil, fmt.Errorf("timeout collector: %w (%d)", ErrTooManySlots, c.maxViews)
	}
	vt := &viewTimeouts{first: make(map[types.ValidatorIndex]SignedTimeout), reported: types.NewBitmap(c.n)}
	c.views[v] = vt
	return vt, nil
}

func (c *TimeoutCollector) certificate(view uint64, vt *viewTimeouts) *types.TimeoutCert {
	signers := types.NewBitmap(c.n)
	for i := range vt.first {
		signers.Set(i)
	}
	idx := signers.Indices()
	tc := &types.TimeoutCert{View: view, Signers: signers, HighQcViews: make([]uint64, len(idx))}
	sigs := make([]crypto.Signature, len(idx))
	for k, i := range idx {
		tc.HighQcViews[k] = vt.first[i].HighQCView
		sigs[k] = vt.first[i].Sig
	}
	agg, _ := crypto.AggregateSignatures(sigs) // a quorum is never empty
	tc.Signature = agg.Bytes()
	return tc
}

// Senders is the number of distinct validators that timed out of view; a
// pacemaker joins a view change once f+1 did.
func (c *TimeoutCollector) Senders(view uint64) int {
	if vt, ok := c.views[view]; ok {
		return len(vt.first)
	}
	return 0
}

// PruneBelow forgets every view below view.
func (c *TimeoutCollector) PruneBelow(view uint64) {
	for v := range c.views {
		if v < view {
			delete(c.views, v)
		}
	}
}

// timeoutEquivocation records two timeouts as votes whose digest is the
// high QC view, so that evidence has one shape for every kind.
func timeoutEquivocation(a, b SignedTimeout) *Equivocation {
	asVote := func(t SignedTimeout) SignedVote {
		var d types.BlockID
		for k := 0; k < 8; k++ {
			d[len(d)-1-k] = byte(t.HighQCView >> (8 * k))
		}
		return SignedVote{Slot: Slot{View: t.View}, Digest: d, Signer: t.Signer, Sig: t.Sig}
	}
	return &Equivocation{Signer: a.Signer, Slot: Slot{View: a.View}, First: asVote(a), Second: asVote(b)}
}
