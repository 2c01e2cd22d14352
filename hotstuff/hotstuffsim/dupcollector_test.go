package hotstuffsim_test

import (
	"github.com/bftkit/bftkit/hotstuff"
	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// dupCounting is a deliberately broken vote collector: it counts every
// vote it receives, so a vote delivered twice counts twice (canary c).
type dupCounting struct {
	cfg     qc.CollectorConfig
	votes   map[qc.Slot]map[types.BlockID][]qc.SignedVote
	emitted map[qc.Slot]bool
}

func newDupCounting(cfg qc.CollectorConfig) hotstuff.VoteCollector {
	return &dupCounting{cfg: cfg, votes: map[qc.Slot]map[types.BlockID][]qc.SignedVote{}, emitted: map[qc.Slot]bool{}}
}

func (c *dupCounting) Add(v qc.SignedVote) (*qc.Quorum, *qc.Equivocation, error) {
	if c.votes[v.Slot] == nil {
		c.votes[v.Slot] = map[types.BlockID][]qc.SignedVote{}
	}
	list := append(c.votes[v.Slot][v.Digest], v)
	c.votes[v.Slot][v.Digest] = list
	if len(list) < c.cfg.Quorum || c.emitted[v.Slot] {
		return nil, nil, nil
	}
	c.emitted[v.Slot] = true
	q := &qc.Quorum{Slot: v.Slot, Digest: v.Digest, Signers: types.NewBitmap(c.cfg.N)}
	for _, x := range list {
		if !q.Signers.Has(x.Signer) {
			q.Signers.Set(x.Signer)
			q.Sigs = append(q.Sigs, x.Sig)
		}
	}
	return q, nil, nil
}

func (c *dupCounting) PruneBelow(view, seq uint64) {}
