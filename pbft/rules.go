package pbft

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// This file holds the protocol's rules, one function each, citing Castro
// and Liskov, OSDI'99. Each takes the state it needs as arguments so that
// it can be tested alone.

// Primary is the primary of view v: p = v mod |R| (§4.1).
func Primary(view uint64, n int) types.ValidatorIndex {
	return types.ValidatorIndex(view % uint64(n))
}

// inWatermarks is the window rule (§4.2): a replica accepts messages for
// sequence number n only if h < n ≤ H, where h is its last stable
// checkpoint and H = h + L. It stops a faulty primary from exhausting the
// number space, and bounds the log.
func inWatermarks(n, low, window uint64) bool {
	return n > low && n <= low+window
}

// prePrepareConflicts is the acceptance rule's uniqueness check (§4.2: "it
// has not accepted a pre-prepare message for view v and sequence number n
// containing a different digest"). acceptedView and acceptedDigest are the
// slot's accepted pre-prepare, if any (has is false when none).
func prePrepareConflicts(has bool, acceptedView uint64, acceptedDigest types.BlockID, view uint64, digest types.BlockID) bool {
	return has && acceptedView == view && acceptedDigest != digest
}

// prepareCounts says whether a prepare counts towards prepared (§4.2:
// "2f prepares from different backups"): the primary's pre-prepare stands
// for its own vote, so a prepare signed by the primary of its view is not
// one of the 2f.
func prepareCounts(signer types.ValidatorIndex, view uint64, n int) bool {
	return signer != Primary(view, n)
}

// NullBlock is the block a new-view assigns to a sequence number where no
// view-change carried a prepared certificate (§4.4: "a pre-prepare for a
// null request"). Every replica rebuilds it from the number alone, so O
// names it by digest and nobody ever fetches it, even when a later view
// re-proposes it from an old prepared certificate. It executes as a block
// with no transactions and no proposer (0).
func NullBlock(seq uint64) *types.Block {
	return &types.Block{Height: seq}
}

// knownBlock returns the block with digest d at seq if it is the null
// block, which needs no fetching.
func knownBlock(seq uint64, d types.BlockID) *types.Block {
	if null := NullBlock(seq); null.ID() == d {
		return null
	}
	return nil
}

// nextHistory extends the history digest by the block executed at seq: the
// digest after seq commits to every block executed up to it, which is the
// "state digest" checkpoints carry (§4.3). The engine has no application
// state to hash; equal histories give equal application states.
func nextHistory(prev types.BlockID, seq uint64, id types.BlockID) types.BlockID {
	h := sha256.New()
	h.Write([]byte("bftkit/pbft/history/v1"))
	h.Write(prev[:])
	h.Write(binary.BigEndian.AppendUint64(nil, seq))
	h.Write(id[:])
	var out types.BlockID
	copy(out[:], h.Sum(nil))
	return out
}

// Order is one entry of a new-view's O: a sequence number and the digest
// assigned to it.
type Order struct {
	Seq    uint64
	Digest types.BlockID
}

// ComputeO derives a new-view's O from its view-changes V (§4.4): min-s is
// the sequence number of the latest stable checkpoint in V, max-s the
// highest sequence number in any prepared certificate in V. For every n in
// (min-s, max-s] the new primary re-proposes the digest of the prepared
// certificate with the highest view for n, or a null request if none. It
// also returns the checkpoint proof for min-s (nil for genesis).
//
// The choice is deterministic, so every backup recomputes the same O from
// the same V. Two certificates of one view for one n with different digests
// would take more than f faulty replicas; should V hold such a pair anyway,
// the smaller digest wins, so that recomputation still agrees.
func ComputeO(vcs []*types.PBFTViewChange) ([]Order, *types.PBFTCert) {
	var stable *types.PBFTCert
	for _, vc := range vcs {
		if vc.Stable != nil && (stable == nil || vc.Stable.Seq > stable.Seq) {
			stable = vc.Stable
		}
	}
	minS := stable.GetSeq()
	best := make(map[uint64]*types.PBFTPrepared)
	maxS := minS
	for _, vc := range vcs {
		for _, p := range vc.Prepared {
			if p.Seq <= minS {
				continue
			}
			maxS = max(maxS, p.Seq)
			if b := best[p.Seq]; b == nil || p.View > b.View || (p.View == b.View && bytes.Compare(p.Digest[:], b.Digest[:]) < 0) {
				best[p.Seq] = p
			}
		}
	}
	var out []Order
	for s := minS + 1; s <= maxS; s++ {
		if p := best[s]; p != nil {
			out = append(out, Order{Seq: s, Digest: p.Digest})
		} else {
			out = append(out, Order{Seq: s, Digest: NullBlock(s).ID()})
		}
	}
	return out, stable
}

// checkO is the backups' rule (§4.4): "the backup verifies O by performing
// a computation similar to the one used by the primary", and rejects the
// new-view if its O differs.
func checkO(got []*types.PBFTOrder, want []Order) error {
	if len(got) != len(want) {
		return fmt.Errorf("new-view: O has %d pre-prepares, recomputed %d", len(got), len(want))
	}
	for k, o := range got {
		if o.Seq != want[k].Seq || o.Digest != want[k].Digest {
			return fmt.Errorf("new-view: O[%d] is (%d, %v), recomputed (%d, %v)", k, o.Seq, o.Digest, want[k].Seq, want[k].Digest)
		}
	}
	return nil
}

// joinView is the liveness rule of §4.5.2: a replica that holds view-changes
// from f+1 replicas for views above its own joins the smallest view among
// the f+1 highest, even before its timer expires; at least one of them is
// honest, so that view is not a faulty replica's invention. highest lists
// the latest view-change view of each other replica. It returns 0 when
// there is nothing to join.
func joinView(current uint64, highest []uint64, f int) uint64 {
	var above []uint64
	for _, v := range highest {
		if v > current {
			above = append(above, v)
		}
	}
	if len(above) < f+1 {
		return 0
	}
	slices.Sort(above)
	return above[len(above)-1-f] // the (f+1)-th highest
}

// viewChangeTimeout is §4.5.2's back-off: after k successive view changes
// without executing a request, a replica waits 2^k·T before the next one.
func viewChangeTimeout(base, maxTicks int, consecutive uint32) int {
	t := base
	for range consecutive {
		if t >= maxTicks {
			break
		}
		t *= 2
	}
	return min(t, maxTicks)
}

// VoteCollector counts prepares or commits per (view, seq) slot and digest,
// each signer once: qc.Collector. Canary tests substitute a broken one.
type VoteCollector interface {
	Add(v qc.SignedVote) (*qc.Quorum, *qc.Equivocation, error)
	PruneBelow(view, seq uint64)
}

// Rules are the counting and checking rules a canary may break. The zero
// value is the paper's.
type Rules struct {
	// NewCommitCollector builds the commit counter; nil means
	// qc.NewCollector (distinct signers, matching digests). Prepares are
	// always counted by qc.NewCollector.
	NewCommitCollector func(qc.CollectorConfig) VoteCollector
	// NewCheckpointTracker builds the checkpoint counter; nil means
	// NewCheckpointTracker (distinct signers).
	NewCheckpointTracker func(n, f, quorum int) CheckpointTracker
	// CheckNewView checks a new-view's O against the recomputed one; nil
	// means checkO.
	CheckNewView func(got []*types.PBFTOrder, want []Order) error
}

func (r Rules) commitCollector(c qc.CollectorConfig) VoteCollector {
	if r.NewCommitCollector != nil {
		return r.NewCommitCollector(c)
	}
	return qc.NewCollector(c)
}

func (r Rules) checkpointTracker(n, f, q int) CheckpointTracker {
	if r.NewCheckpointTracker != nil {
		return r.NewCheckpointTracker(n, f, q)
	}
	return NewCheckpointTracker(n, f, q)
}

func (r Rules) checkNewView(got []*types.PBFTOrder, want []Order) error {
	if r.CheckNewView != nil {
		return r.CheckNewView(got, want)
	}
	return checkO(got, want)
}
