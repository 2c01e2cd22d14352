package hotstuffbyz

import (
	"github.com/bftkit/bftkit/hotstuff"
	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/types"
)

// forgeries are the ways forge-qc breaks a QC, used in turn.
var forgeries = []func(q *types.QuorumCert, n int){
	// too few signers: drop every signer but one
	func(q *types.QuorumCert, n int) {
		b := types.NewBitmap(n)
		b.Set(types.Bitmap(q.Signers).Indices()[0])
		q.Signers = b
	},
	// a non-member: a bitmap one byte too long with a bit set in it
	func(q *types.QuorumCert, n int) { q.Signers = append(append([]byte(nil), q.Signers...), 0x01) },
	// a claimed signer that did not sign (duplicate-like: the aggregate
	// does not match the bitmap)
	func(q *types.QuorumCert, n int) {
		b := types.NewBitmap(n)
		for i := range n {
			b.Set(types.ValidatorIndex(i))
		}
		q.Signers = b
	},
	// a bad aggregate
	func(q *types.QuorumCert, n int) {
		q.Signature = append([]byte(nil), q.Signature...)
		q.Signature[5] ^= 0x10
	},
}

// forgeQC returns a forged copy of q (nil stays nil: nothing to forge).
func forgeQC(q *types.QuorumCert, n, k int) *types.QuorumCert {
	if q == nil || len(types.Bitmap(q.Signers).Indices()) == 0 {
		return q
	}
	f := *q
	forgeries[k%len(forgeries)](&f, n)
	return &f
}

// newForgeQC: proposals and timeouts carry forged QCs, each forgery in turn.
func newForgeQC(e protocol.Engine, env protocol.Env) protocol.Engine {
	k := 0
	return rewriting(e, env, func(d *protocol.Rewriter, m types.Message) []types.Message {
		switch p := m.Payload.(type) {
		case *types.Proposal:
			if p.Block.Justify == nil {
				return []types.Message{m}
			}
			k++
			b := cloneBlock(p.Block)
			b.Justify = forgeQC(b.Justify, d.Env.N, k)
			m.Payload = proposal(d, b, p.Tc)
		case *types.Timeout:
			k++
			t := *p
			t.HighQc = forgeQC(p.HighQc, d.Env.N, k)
			m.Payload = &t
		}
		return []types.Message{m}
	})
}

// newBadTimeout: timeouts claim a higher high QC than the sender has, with
// a validly signed timeout around a certificate that does not verify.
func newBadTimeout(e protocol.Engine, env protocol.Env) protocol.Engine {
	return rewriting(e, env, func(d *protocol.Rewriter, m types.Message) []types.Message {
		t, ok := m.Payload.(*types.Timeout)
		if !ok || t.View < 2 {
			return []types.Message{m}
		}
		forged := &types.QuorumCert{View: t.View - 1, BlockID: types.BlockID{0xba, 0xd0}, Signers: types.NewBitmap(d.Env.N),
			Signature: make([]byte, 96)}
		for i := range d.Env.N {
			types.Bitmap(forged.Signers).Set(types.ValidatorIndex(i))
		}
		bad := &types.Timeout{View: t.View, Sender: t.Sender, HighQc: forged, LastTc: t.LastTc,
			Signature: d.Sign(types.TimeoutSignBytes(d.Env.ChainID, t.View, forged.View))}
		return []types.Message{{From: m.From, To: m.To, Broadcast: m.Broadcast, Payload: bad}}
	})
}

// newFutureView: besides its honest traffic, the node sends validly signed
// timeouts for views far ahead, which replicas must not act on.
func newFutureView(e protocol.Engine, env protocol.Env) protocol.Engine {
	return rewriting(e, env, func(d *protocol.Rewriter, m types.Message) []types.Message {
		t, ok := m.Payload.(*types.Timeout)
		if !ok {
			return []types.Message{m}
		}
		far := &types.Timeout{View: t.View + 1000, Sender: t.Sender, HighQc: t.HighQc,
			Signature: d.Sign(types.TimeoutSignBytes(d.Env.ChainID, t.View+1000, t.HighQCView()))}
		return []types.Message{m, {From: m.From, Broadcast: true, Payload: far}}
	})
}

// staleHistory bounds the messages stale-view keeps for replay.
const staleHistory = 64

// newStaleView: besides its honest traffic, the node replays two of its
// own old messages with every Ready: old views, old votes, old timeouts.
func newStaleView(e protocol.Engine, env protocol.Env) protocol.Engine {
	var history []types.Message
	return rewriting(e, env, func(d *protocol.Rewriter, m types.Message) []types.Message {
		out := []types.Message{m}
		if len(history) > 0 && d.Env.Rand.IntN(3) == 0 {
			out = append(out, history[d.Env.Rand.IntN(len(history))])
		}
		if len(history) < staleHistory {
			history = append(history, m)
		} else {
			history[d.Env.Rand.IntN(staleHistory)] = m
		}
		return out
	})
}

// tailForkDepth is how far back tail-fork proposes: far enough back to
// skip a block that may already be committed.
const tailForkDepth = 4

// newTailFork: as leader, propose on an old QC, skipping the latest
// certified blocks (a fork of the tail). Honest voters refuse it: its
// justify is neither the QC of the previous view nor covered by a TC.
func newTailFork(e protocol.Engine, env protocol.Env) protocol.Engine {
	blocks := map[types.BlockID]*types.Block{}
	var certified []*types.QuorumCert // QCs seen, oldest first
	d := rewriting(e, env, nil)
	d.Observe = func(m types.Message) {
		if p, ok := m.Payload.(*types.Proposal); ok {
			blocks[p.Block.ID()] = p.Block
			if q := p.Block.Justify; q != nil && (len(certified) == 0 || q.View > certified[len(certified)-1].View) {
				certified = append(certified, q)
				if len(certified) > 2*tailForkDepth {
					certified = certified[1:]
				}
			}
		}
	}
	d.Rewrite = func(m types.Message) []types.Message {
		p, ok := m.Payload.(*types.Proposal)
		if !ok || len(certified) < tailForkDepth {
			return []types.Message{m}
		}
		old := certified[len(certified)-tailForkDepth]
		parent, known := blocks[old.BlockID]
		if !known {
			return []types.Message{m}
		}
		fork := cloneBlock(p.Block)
		fork.ParentID, fork.Justify, fork.Height = old.BlockID, old, parent.Height+1
		if honest, ok := e.(*hotstuff.Engine); ok {
			// A well-formed fork records the views it skips.
			fork.FailedLeaders, _ = honest.FailedLeaders(old.BlockID, fork.View)
		}
		m.Payload = proposal(d, fork, p.Tc)
		return []types.Message{m}
	}
	return d
}
