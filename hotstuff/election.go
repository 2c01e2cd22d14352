package hotstuff

import (
	"slices"

	"github.com/bftkit/bftkit/types"
)

// Election is how views get their leaders.
type Election int

const (
	// ElectReputation rotates leadership among the validators that the
	// chain shows working: it skips those that stopped signing and those
	// whose recent terms produced no block (see reputation.go). The
	// default.
	ElectReputation Election = iota
	// ElectRoundRobin rotates through every validator in index order,
	// whatever they do.
	ElectRoundRobin
)

// String names the election as config files do.
func (el Election) String() string {
	if el == ElectRoundRobin {
		return "round-robin"
	}
	return "reputation"
}

// RoundRobin rotates leadership through the set, each leader holding
// ViewsPerLeader consecutive views: view v is led by ⌊v / k⌋ mod N.
//
// Why not one view each: a three-chain commit needs four consecutive views
// with honest leaders (three consecutive blocks, and the next leader to
// form the QC on the third). With one view per leader, a single crashed
// validator among four leaves no such run and nothing ever commits. With
// two views each, the 2f+1 honest leaders spread over at most f gaps
// always include a run of three, i.e. six consecutive honest views.
// Reputation rotates through its candidates the same way, for the same
// reason.
type RoundRobin struct {
	N              int
	ViewsPerLeader int
}

// DefaultViewsPerLeader is round-robin's term: the smallest that keeps
// the three-chain commit live with f crashed leaders anywhere in the
// rotation.
const DefaultViewsPerLeader = 2

// viewsPerLeader is the configured term, or DefaultViewsPerLeader.
func (c *Config) viewsPerLeader() int {
	if c.ViewsPerLeader > 0 {
		return c.ViewsPerLeader
	}
	return DefaultViewsPerLeader
}

// Leader returns ⌊v / ViewsPerLeader⌋ mod N.
func (r RoundRobin) Leader(view uint64) types.ValidatorIndex {
	return rotate(view, r.ViewsPerLeader, r.N, func(k int) types.ValidatorIndex { return types.ValidatorIndex(k) })
}

// rotate is the k-th of n leaders for view, each holding viewsPerLeader
// consecutive views.
func rotate(view uint64, viewsPerLeader, n int, kth func(int) types.ValidatorIndex) types.ValidatorIndex {
	k := uint64(max(viewsPerLeader, 1))
	return kth(int(view / k % uint64(n)))
}

// leaderAfter is the leader of view for a block that extends parent. Under
// reputation the schedule is read from parent's chain, so every replica
// that checks a proposal computes the same leader from the proposal
// itself, whatever it has committed. A nil parent (unknown) gives the
// plain rotation: only hints and reports use it, never a proposal's check.
//
// A term whose first view produced no block on parent's chain is cut
// short: its second view goes to the next term's leader. A crashed leader
// then costs two view timeouts a pass (its first view and the one before,
// whose votes it was to aggregate) instead of three, while working
// leaders keep their two views, which the three-chain needs (one view
// each let a Byzantine leader that withholds the QC of the view before
// its own break every run of three consecutive views).
func (e *Engine) leaderAfter(parent *types.Block, view uint64) types.ValidatorIndex {
	if e.cfg.Election == ElectRoundRobin || parent == nil {
		return e.roundRobin(view)
	}
	k := uint64(e.cfg.ViewsPerLeader)
	cands := e.candidatesFor(parent, view)
	scheduled := rotateAmong(cands, view, k)
	if k < 2 || view < parent.View+2 || view%k == 0 {
		return scheduled // view−1 made parent, or view opens its term
	}
	if rotateAmong(e.candidatesFor(parent, view-1), view-1, k) != scheduled {
		return scheduled
	}
	return rotateAmong(cands, (view/k+1)*k, k) // the cut: the next term's leader
}

// rotateAmong is the leader of view in a rotation through cands, k views
// each.
func rotateAmong(cands []types.ValidatorIndex, view, k uint64) types.ValidatorIndex {
	return rotate(view, int(k), len(cands), func(i int) types.ValidatorIndex { return cands[i] })
}

// candidatesFor is the rotation for view on parent's chain.
func (e *Engine) candidatesFor(parent *types.Block, view uint64) []types.ValidatorIndex {
	anchor, whole := e.anchor(parent, view)
	return e.reputation.candidates(anchor, whole)
}

func (e *Engine) roundRobin(view uint64) types.ValidatorIndex {
	return RoundRobin{N: e.cfg.N, ViewsPerLeader: e.cfg.ViewsPerLeader}.Leader(view)
}

// wholeChain returns the block id names if it and its chain above the
// committed head are held; otherwise what it has of it (nil if the block
// itself is missing) and the first missing block to fetch.
func (e *Engine) wholeChain(id types.BlockID) (b *types.Block, missing types.BlockID, whole bool) {
	b, ok := e.block(id)
	if !ok {
		return nil, id, false
	}
	if missing, gap := e.missingAncestor(b); gap {
		return b, missing, false
	}
	return b, types.BlockID{}, true
}

// missingAncestor is the first block missing from parent's chain above
// the committed head, if any. The schedule is read from the chain, so a
// replica must hold it whole to agree with the others: it fetches what is
// missing before it checks or makes a proposal on it. (Below the committed
// head the chain is held down to the retention floor.)
func (e *Engine) missingAncestor(parent *types.Block) (types.BlockID, bool) {
	for b := parent; b.Height > e.committedHeight+1; {
		p, ok := e.block(b.ParentID)
		if !ok {
			return b.ParentID, true
		}
		b = p
	}
	return types.BlockID{}, false
}

// anchor is the block whose history decides the leader of view on
// parent's chain: the latest block of that chain at least ElectionDepth
// views before view. Reading history that deep means a proposer cannot
// pick its own schedule by choosing which recent QC to extend, and that
// the history is committed at every replica that has seen the QC of the
// previous view (the three-chain commits three views back).
func (e *Engine) anchor(parent *types.Block, view uint64) (a *types.Block, whole bool) {
	a = parent
	for a.Height > 0 && a.View+e.cfg.ElectionDepth > view {
		p, ok := e.block(a.ParentID)
		if !ok {
			return a, false
		}
		a = p
	}
	return a, true
}

// failedLeaders are the leaders of the views between parent's and view
// (the last MaxFailedLeaders of them), in view order: the views that
// produced no block on parent's chain. A proposal records them and a
// voter checks them, so reputation reads failures from the chain instead
// of recomputing old schedules.
func (e *Engine) failedLeaders(parent *types.Block, view uint64) []types.ValidatorIndex {
	first := parent.View + 1
	if view > first+types.MaxFailedLeaders {
		first = view - types.MaxFailedLeaders
	}
	if first >= view {
		return nil
	}
	out := make([]types.ValidatorIndex, 0, view-first)
	for u := first; u < view; u++ {
		out = append(out, e.leaderAfter(parent, u))
	}
	return out
}

// checkFailedLeaders checks a proposal's record of failed leaders against
// this replica's own schedule on the same chain.
func (e *Engine) checkFailedLeaders(b, parent *types.Block) bool {
	return slices.Equal(b.FailedLeaders, e.failedLeaders(parent, b.View))
}

// FailedLeaders is what a block of view extending parent must record as
// failed leaders on this replica's schedule, or false if parent is
// unknown. Byzantine behaviours use it to forge proposals that pass every
// check but the one they attack.
func (e *Engine) FailedLeaders(parent types.BlockID, view uint64) ([]types.ValidatorIndex, bool) {
	p, ok := e.block(parent)
	if !ok {
		return nil, false
	}
	return e.failedLeaders(p, view), true
}

// heardWithin is how many views back a vote or timeout still counts as
// heard: the late votes for the view before a leader's term arrive while
// it leads the term's first view.
const heardWithin = 4

// heard notes a sign of life from validator i in view.
func (e *Engine) heard(i types.ValidatorIndex, view uint64) {
	if int(i) < len(e.lastHeard) && view > e.lastHeard[i] {
		e.lastHeard[i] = view
	}
}

// heardBitmap is the validators this replica heard from in the views
// before view, itself included, for a block it proposes.
func (e *Engine) heardBitmap(view uint64) types.Bitmap {
	b := types.NewBitmap(e.cfg.N)
	for i, v := range e.lastHeard {
		if v+heardWithin >= view || types.ValidatorIndex(i) == e.cfg.ID {
			b.Set(types.ValidatorIndex(i))
		}
	}
	return b
}
