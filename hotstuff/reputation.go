package hotstuff

import (
	"slices"

	"github.com/bftkit/bftkit/types"
)

// Leader reputation, after DiemBFT v4 and Aptos's reputation-based
// proposer election, read from the chain a proposal extends (its anchor,
// see Engine.anchor) so that every replica computes the same schedule:
//
//   - A validator is active if it proposed a block, signed the QC in one,
//     or was heard by its proposer (Block.heard: a vote or timeout for one
//     of the last few views; a QC holds only the first 2f+1 votes, so a
//     validator back from a restart may never appear in one) among the
//     last ActiveWindow blocks up to the anchor. One that
//     crashed stops appearing and drops out; one that comes back appears
//     in QCs again and returns.
//   - A term failed if its views produced no block on the chain: the next
//     block records the leaders of the views it skipped (FailedLeaders).
//     The leader of a skipped view is blamed if the view after it had the
//     same leader or was the last skipped one; a lone skipped view before
//     another leader's is blamed on that next leader, whose job was to
//     aggregate its votes.
//   - A validator whose term failed is excluded for ActiveWindow blocks
//     after the failure; one that failed again while its earlier failure
//     is still within FailureWindow blocks stays out until that earlier
//     failure leaves the window. A crashed leader costs one pass and is
//     inactive by the time its exclusion ends; a validator that keeps
//     failing as leader while it votes gets about two tries per failure
//     window.
//   - The candidates are the active, unexcluded validators in index order,
//     topped up to 2f+1 with active excluded ones (longest-ago failure
//     first) and then inactive ones: with at most f faulty, at least f+1
//     honest candidates are in every rotation, and with two views per
//     term they include a run of four honest views, which the three-chain
//     needs to commit.
//
// Near genesis, before ActiveWindow blocks exist, every validator counts
// as active.
//
// What f Byzantine validators can do to the rotation (see
// docs/ARCHITECTURE.md, and the frame behaviour in package hotstuffbyz):
// a Byzantine leader may withhold the QC of the view before its own and
// propose on that view's TC, so that the honest leader of that view is
// blamed (each try costs a view timeout, and the framed validator is
// excluded for a while, which gives the Byzantine ones a larger share of
// the rotation); and a Byzantine leader may leave a validator's vote out
// of its QCs, which matters only if every other leader does too. They
// cannot make a leader of a validator the chain does not name (every
// voter checks the schedule), cannot shrink the rotation below 2f+1, and
// cannot stop commits: two consecutive honest terms remain in every
// rotation.

// reputation computes leader candidates from a chain, caching them per
// anchor block.
type reputation struct {
	n, quorum      int
	active, failed uint64 // ActiveWindow, FailureWindow
	block          func(types.BlockID) (*types.Block, bool)
	cache          map[types.BlockID][]types.ValidatorIndex
}

// maxCachedAnchors bounds the candidate cache; it is cleared when full
// (the rotation only ever reads anchors near the head).
const maxCachedAnchors = 64

// standing is what the window says of one validator.
type standing struct {
	seen       bool   // proposed or signed within the active window
	failures   int    // failed terms within the failure window
	lastFailed uint64 // height of the block that recorded the latest
}

// candidates are the validators the rotation goes through after anchor,
// in index order. Only a schedule read from a whole chain (whole: the
// anchor was reached; and the window down to genesis or its end) is
// cached: one read while blocks are still being fetched may differ from
// the other replicas', and must not outlive the fetch.
func (r *reputation) candidates(anchor *types.Block, whole bool) []types.ValidatorIndex {
	id := anchor.ID()
	if anchor.Height == 0 {
		id = types.BlockID{}
	}
	if c, ok := r.cache[id]; ok && whole {
		return c
	}
	s, windowWhole := r.standings(anchor)
	c := r.elect(anchor, s)
	if !whole || !windowWhole {
		return c
	}
	if len(r.cache) >= maxCachedAnchors {
		clear(r.cache)
	}
	r.cache[id] = c
	return c
}

// standings walks the failure window back from anchor; whole says it
// reached the window's end or genesis without a missing block.
func (r *reputation) standings(anchor *types.Block) ([]standing, bool) {
	s := make([]standing, r.n)
	if anchor.Height < r.active {
		for i := range s {
			s[i].seen = true // too young a chain to judge activity
		}
	}
	for b := anchor; b.Height > 0 && b.Height+r.failed > anchor.Height; {
		if b.Height+r.active > anchor.Height {
			r.markSeen(s, b)
		}
		r.markFailures(s, b)
		p, ok := r.block(b.ParentID)
		if !ok {
			return s, b.Height == 1 || b.Height+r.failed <= anchor.Height+1
		}
		b = p
	}
	return s, true
}

// markSeen marks b's proposer, the signers of its QC and the validators
// its proposer heard from active.
func (r *reputation) markSeen(s []standing, b *types.Block) {
	if int(b.Proposer) < r.n {
		s[b.Proposer].seen = true
	}
	signs := b.Heard.Indices()
	if b.Justify != nil {
		signs = append(signs, types.Bitmap(b.Justify.Signers).Indices()...)
	}
	for _, i := range signs {
		if int(i) < r.n {
			s[i].seen = true
		}
	}
}

// markFailures counts the failed terms b records: runs of one leader in
// its failed leaders, each blamed if it spans two views or is the last.
func (r *reputation) markFailures(s []standing, b *types.Block) {
	f := b.FailedLeaders
	for j := 0; j < len(f); {
		k := j
		for k+1 < len(f) && f[k+1] == f[j] {
			k++
		}
		if l := f[j]; int(l) < r.n && (k > j || k == len(f)-1) {
			s[l].failures++
			s[l].lastFailed = max(s[l].lastFailed, b.Height)
		}
		j = k + 1
	}
}

// excluded says whether a validator's failures still keep it out at
// anchor height h: a first failure within the failure window for the
// active window (a crash, a restart: by the end the validator is inactive
// or working again), a repeated one for the whole failure window (a
// validator that fails as leader while it votes).
func (r *reputation) excluded(st standing, h uint64) bool {
	switch st.failures {
	case 0:
		return false
	case 1:
		return h < st.lastFailed+r.active
	}
	return h < st.lastFailed+r.failed
}

// elect picks the candidates from the standings: the active unexcluded,
// topped up to a quorum.
func (r *reputation) elect(anchor *types.Block, s []standing) []types.ValidatorIndex {
	var cands, rest []types.ValidatorIndex
	for i, st := range s {
		if st.seen && !r.excluded(st, anchor.Height) {
			cands = append(cands, types.ValidatorIndex(i))
		} else {
			rest = append(rest, types.ValidatorIndex(i))
		}
	}
	if len(cands) >= r.quorum {
		return cands
	}
	// Active before inactive, then the longest-ago failure first, then
	// by index (the sort is stable).
	slices.SortStableFunc(rest, func(a, b types.ValidatorIndex) int {
		sa, sb := s[a], s[b]
		switch {
		case sa.seen != sb.seen:
			if sa.seen {
				return -1
			}
			return 1
		case sa.lastFailed < sb.lastFailed:
			return -1
		case sa.lastFailed > sb.lastFailed:
			return 1
		}
		return 0
	})
	cands = append(cands, rest[:r.quorum-len(cands)]...)
	slices.Sort(cands)
	return cands
}
