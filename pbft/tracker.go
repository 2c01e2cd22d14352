package pbft

import (
	"cmp"
	"slices"

	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// CheckpointTracker counts checkpoint messages (§4.3). Canary tests
// substitute a broken one.
type CheckpointTracker interface {
	// Add records a verified checkpoint vote.
	Add(v qc.SignedVote)
	// Stable returns a proof for the highest checkpoint above seq that a
	// quorum of distinct replicas signed with one digest, or nil.
	Stable(above uint64) *types.PBFTCert
	// Trusted returns the highest checkpoint above seq that at least f+1
	// distinct replicas signed with one digest (so at least one honest
	// replica executed that history), and who signed it; ok is false if
	// there is none.
	Trusted(above uint64) (seq uint64, digest types.BlockID, signers []types.ValidatorIndex, ok bool)
	// PruneBelow forgets checkpoints at or below seq.
	PruneBelow(seq uint64)
}

// checkpointsPerSigner is how many recent checkpoints are kept per signer:
// enough for replicas K·4 numbers apart to still find matching ones, and a
// fixed memory bound whatever a faulty replica sends.
const checkpointsPerSigner = 4

// tracker keeps the last checkpointsPerSigner checkpoints of each replica,
// one per sequence number (the first one signed), so each signer counts
// once per checkpoint.
type tracker struct {
	n, f, quorum int
	bySigner     [][]qc.SignedVote // ascending by seq
}

// NewCheckpointTracker returns the paper's tracker for n replicas.
func NewCheckpointTracker(n, f, quorum int) CheckpointTracker {
	return &tracker{n: n, f: f, quorum: quorum, bySigner: make([][]qc.SignedVote, n)}
}

func (t *tracker) Add(v qc.SignedVote) {
	if int(v.Signer) >= t.n {
		return
	}
	list := t.bySigner[v.Signer]
	i, found := slices.BinarySearchFunc(list, v.Slot.Seq, func(a qc.SignedVote, seq uint64) int {
		return cmp.Compare(a.Slot.Seq, seq)
	})
	if found {
		return // a repeat, or a second digest for one number: the first counts
	}
	list = slices.Insert(list, i, v)
	if len(list) > checkpointsPerSigner {
		list = list[1:]
	}
	t.bySigner[v.Signer] = list
}

type cpKey struct {
	seq    uint64
	digest types.BlockID
}

// tally groups every kept checkpoint above seq by (seq, digest).
func (t *tracker) tally(above uint64) map[cpKey][]qc.SignedVote {
	out := make(map[cpKey][]qc.SignedVote)
	for _, list := range t.bySigner {
		for _, v := range list {
			if v.Slot.Seq > above {
				k := cpKey{v.Slot.Seq, v.Digest}
				out[k] = append(out[k], v)
			}
		}
	}
	return out
}

// highest is the highest (seq, digest) with at least min votes.
func highest(groups map[cpKey][]qc.SignedVote, min int) (cpKey, []qc.SignedVote, bool) {
	var best cpKey
	var votes []qc.SignedVote
	found := false
	for k, vs := range groups {
		if len(vs) >= min && (!found || k.seq > best.seq || (k.seq == best.seq && string(k.digest[:]) < string(best.digest[:]))) {
			best, votes, found = k, vs, true
		}
	}
	return best, votes, found
}

func (t *tracker) Stable(above uint64) *types.PBFTCert {
	k, votes, ok := highest(t.tally(above), t.quorum)
	if !ok {
		return nil
	}
	return CheckpointCert(k.seq, k.digest, votes)
}

func (t *tracker) Trusted(above uint64) (uint64, types.BlockID, []types.ValidatorIndex, bool) {
	k, votes, ok := highest(t.tally(above), t.f+1)
	if !ok {
		return 0, types.BlockID{}, nil, false
	}
	signers := make([]types.ValidatorIndex, len(votes))
	for i, v := range votes {
		signers[i] = v.Signer
	}
	return k.seq, k.digest, signers, true
}

func (t *tracker) PruneBelow(seq uint64) {
	for i, list := range t.bySigner {
		t.bySigner[i] = slices.DeleteFunc(list, func(v qc.SignedVote) bool { return v.Slot.Seq <= seq })
	}
}

// CheckpointCert builds the proof of a stable checkpoint from its votes,
// in signer order.
func CheckpointCert(seq uint64, digest types.BlockID, votes []qc.SignedVote) *types.PBFTCert {
	votes = slices.Clone(votes)
	slices.SortFunc(votes, func(a, b qc.SignedVote) int { return cmp.Compare(a.Signer, b.Signer) })
	c := &types.PBFTCert{Phase: types.PhaseCheckpoint, Seq: seq, Digest: digest}
	for _, v := range votes {
		c.Signers = append(c.Signers, v.Signer)
		c.Signatures = append(c.Signatures, v.Sig)
	}
	return c
}
