package qc

import (
	"fmt"
	"slices"

	"github.com/bftkit/bftkit/types"
)

// SignedVote is one vote, already verified at the gateway: Signer signed
// Digest for Slot.
type SignedVote struct {
	Slot   Slot
	Digest types.BlockID
	Signer types.ValidatorIndex
	Sig    []byte
}

// Quorum is what a collector emits: a quorum of distinct members that signed
// the same digest for the same slot, their signatures in signer order.
type Quorum struct {
	Slot    Slot
	Digest  types.BlockID
	Signers types.Bitmap
	Sigs    [][]byte
}

// Equivocation is two different votes signed by one validator for one slot.
type Equivocation struct {
	Signer        types.ValidatorIndex
	Slot          Slot
	First, Second SignedVote
}

// Collector gathers votes per slot and emits a Quorum once a quorum of
// distinct validators signed the same digest. Each signer counts once per
// slot: its first vote counts; a repeat of it is ignored; a different second
// vote is not counted and is reported, once, as equivocation.
//
// The collector trusts that signatures were verified. It checks membership,
// refuses votes for pruned slots, and bounds memory by a per-signer quota
// of open slots (CollectorConfig).
type Collector struct {
	gate  slotGate
	slots map[Slot]*slotVotes
}

type slotVotes struct {
	first    map[types.ValidatorIndex]SignedVote
	tallies  map[types.BlockID]*tally
	reported types.Bitmap // signers already reported as equivocating
}

type tally struct {
	signers types.Bitmap
	emitted bool
}

// NewCollector returns an empty collector.
func NewCollector(cfg CollectorConfig) *Collector {
	return &Collector{gate: newSlotGate(cfg), slots: make(map[Slot]*slotVotes)}
}

// Add records a vote. It returns a Quorum the first time the vote's digest
// reaches a quorum in its slot, and an Equivocation the first time the
// signer is seen voting for two digests in one slot.
func (c *Collector) Add(v SignedVote) (*Quorum, *Equivocation, error) {
	sv := c.slots[v.Slot]
	prev, voted := SignedVote{}, false
	if sv != nil {
		prev, voted = sv.first[v.Signer]
	}
	if err := c.gate.admit(v.Slot, v.Signer, !voted); err != nil {
		return nil, nil, err
	}
	if voted {
		if prev.Digest == v.Digest || sv.reported.Has(v.Signer) {
			return nil, nil, nil
		}
		sv.reported.Set(v.Signer)
		return nil, &Equivocation{Signer: v.Signer, Slot: v.Slot, First: prev, Second: v}, nil
	}
	if sv == nil {
		sv = c.openSlot(v.Slot)
	}
	sv.first[v.Signer] = v
	c.gate.open[v.Signer]++
	t := sv.tallies[v.Digest]
	if t == nil {
		t = &tally{signers: types.NewBitmap(c.gate.cfg.N)}
		sv.tallies[v.Digest] = t
	}
	t.signers.Set(v.Signer)
	if t.emitted || t.signers.Count() < c.gate.cfg.Quorum {
		return nil, nil, nil
	}
	t.emitted = true
	return quorumOf(v.Slot, v.Digest, sv, t), nil, nil
}

func (c *Collector) openSlot(s Slot) *slotVotes {
	sv := &slotVotes{
		first:    make(map[types.ValidatorIndex]SignedVote),
		tallies:  make(map[types.BlockID]*tally),
		reported: types.NewBitmap(c.gate.cfg.N),
	}
	c.slots[s] = sv
	return sv
}

func quorumOf(s Slot, d types.BlockID, sv *slotVotes, t *tally) *Quorum {
	signers := slices.Clone(t.signers)
	idx := signers.Indices()
	sigs := make([][]byte, len(idx))
	for k, i := range idx {
		sigs[k] = sv.first[i].Sig
	}
	return &Quorum{Slot: s, Digest: d, Signers: signers, Sigs: sigs}
}

// Voters is the number of distinct validators that voted in slot s, for any
// digest.
func (c *Collector) Voters(s Slot) int {
	if sv, ok := c.slots[s]; ok {
		return len(sv.first)
	}
	return 0
}

// PruneBelow forgets every slot with a view below view or a sequence
// number below seq, and refuses votes for such slots from now on. HotStuff
// prunes by view (seq 0); PBFT also by sequence number at each stable
// checkpoint. Floors only rise.
func (c *Collector) PruneBelow(view, seq uint64) {
	c.gate.raise(view, seq)
	for s, sv := range c.slots {
		if c.gate.stale(s) {
			for i := range sv.first {
				c.gate.open[i]--
			}
			delete(c.slots, s)
		}
	}
}

// OpenSlots is the number of slots currently tracked.
func (c *Collector) OpenSlots() int { return len(c.slots) }

// QC aggregates the quorum into a HotStuff quorum certificate. It fails
// only if a signature does not decode, which the gateway rules out.
func (q *Quorum) QC(scheme Scheme) (*types.QuorumCert, error) {
	agg, err := scheme.Aggregate(q.Sigs)
	if err != nil {
		return nil, fmt.Errorf("qc for view %d: %w", q.Slot.View, err)
	}
	return &types.QuorumCert{View: q.Slot.View, BlockID: q.Digest, Signers: slices.Clone(q.Signers), Signature: agg}, nil
}

// PBFTCert lists the quorum's individual signatures as a PBFT certificate.
func (q *Quorum) PBFTCert(phase types.PBFTPhase) *types.PBFTCert {
	c := &types.PBFTCert{Phase: phase, View: q.Slot.View, Seq: q.Slot.Seq, Digest: q.Digest}
	for k, i := range q.Signers.Indices() {
		c.Signers = append(c.Signers, i)
		c.Signatures = append(c.Signatures, q.Sigs[k])
	}
	return c
}

// DoubleSign converts the equivocation into wire evidence. kind and phase
// say which sign bytes the two signatures cover (phase only for PBFT votes),
// so that anyone can check the evidence against the signer's key.
func (e *Equivocation) DoubleSign(kind types.MsgType, phase types.PBFTPhase) *types.DoubleSign {
	return &types.DoubleSign{
		Kind: kind, Phase: phase, Signer: e.Signer, View: e.Slot.View, Seq: e.Slot.Seq,
		DigestA: e.First.Digest, SignatureA: e.First.Sig,
		DigestB: e.Second.Digest, SignatureB: e.Second.Sig,
	}
}
