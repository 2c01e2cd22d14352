package pbftbyz

import (
	"github.com/bftkit/bftkit/pbft"
	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/types"
)

// Behaviours are PBFT's Byzantine decorators by name. Each
// wraps the honest engine and rewrites what leaves it, signing with the
// node's own key only; the simulator adds the generic ones (silent,
// duplicate).
var Behaviours = protocol.Catalogue{
	"equivocate":      newEquivocate,
	"wrong-digest":    newWrongDigest,
	"double-vote":     newDoubleVote,
	"bad-checkpoint":  newBadCheckpoint,
	"bad-view-change": newBadViewChange,
	"bad-new-view":    newBadNewView,
	"silent-primary":  newSilentPrimary,
	"flood":           newFlood,
}

func rewriting(e protocol.Engine, env protocol.Env, rewrite func(d *protocol.Rewriter, m types.Message) []types.Message) *protocol.Rewriter {
	d := &protocol.Rewriter{Engine: e, Env: env}
	d.Rewrite = func(m types.Message) []types.Message { return rewrite(d, m) }
	return d
}

func keep(m types.Message) []types.Message { return []types.Message{m} }

// flip returns a different digest, deterministically.
func flip(d types.BlockID) types.BlockID {
	d[31] ^= 0xff
	return d
}

// signVote re-signs a prepare, commit or checkpoint as d's node.
func signVote(d *protocol.Rewriter, v *types.PBFTVote) *types.PBFTVote {
	v.Signature = d.Sign(types.PBFTVoteSignBytes(d.Env.ChainID, v.Phase, v.View, v.Seq, v.Digest))
	return v
}

func signPrePrepare(d *protocol.Rewriter, pp *types.PBFTPrePrepare) *types.PBFTPrePrepare {
	pp.Signature = d.Sign(types.PrePrepareSignBytes(d.Env.ChainID, pp.View, pp.Seq, pp.Block.ID()))
	return pp
}

func signViewChange(d *protocol.Rewriter, vc *types.PBFTViewChange) *types.PBFTViewChange {
	h, _ := vc.BodyHash()
	vc.Signature = d.Sign(types.ViewChangeSignBytes(d.Env.ChainID, vc.View, h))
	return vc
}

func signNewView(d *protocol.Rewriter, nv *types.PBFTNewView) *types.PBFTNewView {
	for _, o := range nv.PrePrepares {
		o.Signature = d.Sign(types.PrePrepareSignBytes(d.Env.ChainID, nv.View, o.Seq, o.Digest))
	}
	h, _ := nv.BodyHash()
	nv.Signature = d.Sign(types.NewViewSignBytes(d.Env.ChainID, nv.View, h))
	return nv
}

// newEquivocate: as primary, send one block to the even replicas and its
// twin (same (view, seq), another digest) to the odd ones; and, primary or
// not, split every prepare and commit the same way, the even replicas
// getting a vote for the block and the odd ones a vote for its twin. The
// twin is an involution, so equivocators agree on the split whichever
// block each received: f+1 of them make a fork (harness validation), f of
// them only show up as evidence.
func newEquivocate(e protocol.Engine, env protocol.Env) protocol.Engine {
	pairs := make(map[types.BlockID][2]types.BlockID) // digest -> {block, twin}
	learn := func(b *types.Block) {
		if len(pairs) > 4096 {
			clear(pairs)
		}
		if len(b.ParentAppHash) == 1 && b.ParentAppHash[0] == 0xee {
			b = twin(b)
		}
		pair := [2]types.BlockID{b.ID(), twin(b).ID()}
		pairs[pair[0]], pairs[pair[1]] = pair, pair
	}
	d := rewriting(e, env, func(d *protocol.Rewriter, m types.Message) []types.Message {
		switch p := m.Payload.(type) {
		case *types.PBFTPrePrepare:
			learn(p.Block)
			other := signPrePrepare(d, &types.PBFTPrePrepare{View: p.View, Seq: p.Seq, Block: twin(p.Block), Primary: p.Primary})
			out := d.Unicast(m)
			for k := range out {
				if out[k].To%2 == 1 {
					out[k].Payload = other
				}
			}
			return out
		case *types.PBFTVote:
			pair, ok := pairs[p.Digest]
			if !ok || p.Phase == types.PhaseCheckpoint {
				return keep(m)
			}
			out := d.Unicast(m)
			for k := range out {
				v := *p
				v.Digest = pair[out[k].To%2]
				out[k].Payload = signVote(d, &v)
			}
			return out
		}
		return keep(m)
	})
	d.Observe = func(m types.Message) {
		if pp, ok := m.Payload.(*types.PBFTPrePrepare); ok {
			learn(pp.Block)
		}
	}
	return d
}

// twin is b with its parent app hash marker toggled: another block for the
// same (view, seq), and twin(twin(b)) = b.
func twin(b *types.Block) *types.Block {
	t := b.Copy()
	if len(t.ParentAppHash) == 1 && t.ParentAppHash[0] == 0xee {
		t.ParentAppHash = nil
	} else {
		t.ParentAppHash = []byte{0xee}
	}
	return t
}

// newWrongDigest: prepares and commits name a digest nobody proposed.
func newWrongDigest(e protocol.Engine, env protocol.Env) protocol.Engine {
	return rewriting(e, env, func(d *protocol.Rewriter, m types.Message) []types.Message {
		v, ok := m.Payload.(*types.PBFTVote)
		if !ok || v.Phase == types.PhaseCheckpoint {
			return keep(m)
		}
		bad := *v
		bad.Digest = flip(v.Digest)
		m.Payload = signVote(d, &bad)
		return keep(m)
	})
}

// newDoubleVote: every prepare and commit goes out twice, the second for
// another digest.
func newDoubleVote(e protocol.Engine, env protocol.Env) protocol.Engine {
	return rewriting(e, env, func(d *protocol.Rewriter, m types.Message) []types.Message {
		v, ok := m.Payload.(*types.PBFTVote)
		if !ok || v.Phase == types.PhaseCheckpoint {
			return keep(m)
		}
		other := *v
		other.Digest = flip(v.Digest)
		return []types.Message{m, {From: m.From, To: m.To, Broadcast: m.Broadcast, Payload: signVote(d, &other)}}
	})
}

// newBadCheckpoint: checkpoints carry a wrong history digest.
func newBadCheckpoint(e protocol.Engine, env protocol.Env) protocol.Engine {
	return rewriting(e, env, func(d *protocol.Rewriter, m types.Message) []types.Message {
		v, ok := m.Payload.(*types.PBFTVote)
		if !ok || v.Phase != types.PhaseCheckpoint {
			return keep(m)
		}
		bad := *v
		bad.Digest = flip(v.Digest)
		m.Payload = signVote(d, &bad)
		return keep(m)
	})
}

// newBadViewChange: view-changes claim a prepared certificate for a digest
// nobody proposed, in a view above every real one (forged: the prepares
// are its own signature repeated), and a checkpoint proof that lists its
// own signature as every signer's.
func newBadViewChange(e protocol.Engine, env protocol.Env) protocol.Engine {
	return rewriting(e, env, func(d *protocol.Rewriter, m types.Message) []types.Message {
		vc, ok := m.Payload.(*types.PBFTViewChange)
		if !ok {
			return keep(m)
		}
		bad := *vc
		seq := vc.StableSeq() + 1
		digest := types.BlockID{0xba, 0xd}
		own := d.Sign(types.PBFTVoteSignBytes(d.Env.ChainID, types.PhasePrepare, vc.View-1, seq, digest))
		forged := &types.PBFTPrepared{View: vc.View - 1, Seq: seq, Digest: digest,
			PrePrepareSignature: own,
			Prepares: &types.PBFTCert{Phase: types.PhasePrepare, View: vc.View - 1, Seq: seq, Digest: digest,
				Signers: []types.ValidatorIndex{d.Env.ID, d.Env.ID}, Signatures: [][]byte{own, own}}}
		bad.Prepared = append([]*types.PBFTPrepared{forged}, withoutSeq(vc.Prepared, seq)...)
		if vc.Stable != nil && len(vc.Stable.Signers) > 0 {
			dup := *vc.Stable
			dup.Signers = append(dup.Signers[:len(dup.Signers)-1:len(dup.Signers)-1], dup.Signers[0])
			dup.Signatures = append(dup.Signatures[:len(dup.Signatures)-1:len(dup.Signatures)-1], dup.Signatures[0])
			bad.Stable = &dup
		}
		m.Payload = signViewChange(d, &bad)
		return keep(m)
	})
}

func withoutSeq(ps []*types.PBFTPrepared, seq uint64) []*types.PBFTPrepared {
	var out []*types.PBFTPrepared
	for _, p := range ps {
		if p.Seq != seq {
			out = append(out, p)
		}
	}
	return out
}

// newBadNewView: as the new primary, send a new-view whose O fills every
// number with a null request, dropping what V says was prepared; as a
// backup, send a new-view of its own along with each view-change.
func newBadNewView(e protocol.Engine, env protocol.Env) protocol.Engine {
	return rewriting(e, env, func(d *protocol.Rewriter, m types.Message) []types.Message {
		switch p := m.Payload.(type) {
		case *types.PBFTNewView:
			bad := &types.PBFTNewView{View: p.View, Primary: p.Primary, ViewChanges: p.ViewChanges}
			for _, o := range p.PrePrepares {
				bad.PrePrepares = append(bad.PrePrepares, &types.PBFTOrder{Seq: o.Seq, Digest: pbft.NullBlock(o.Seq).ID()})
			}
			m.Payload = signNewView(d, bad)
			return keep(m)
		case *types.PBFTViewChange:
			if pbft.Primary(p.View, d.Env.N) == d.Env.ID {
				return keep(m)
			}
			usurp := signNewView(d, &types.PBFTNewView{View: p.View, Primary: d.Env.ID, ViewChanges: []*types.PBFTViewChange{p}})
			return []types.Message{m, {From: m.From, Broadcast: true, Payload: usurp}}
		}
		return keep(m)
	})
}

// newSilentPrimary: as primary, send no pre-prepares and no new-view; as a
// backup, behave.
func newSilentPrimary(e protocol.Engine, env protocol.Env) protocol.Engine {
	return rewriting(e, env, func(_ *protocol.Rewriter, m types.Message) []types.Message {
		switch m.Payload.(type) {
		case *types.PBFTPrePrepare, *types.PBFTNewView:
			return nil
		}
		return keep(m)
	})
}

// floodAhead is how far above the window and the view flood aims.
const floodAhead = 10_000

// newFlood: along with every message, send validly signed prepares for a
// sequence number far above the window and view-changes for a view far
// ahead (flooding the log and the view-change state), and a pre-prepare
// far above the window.
func newFlood(e protocol.Engine, env protocol.Env) protocol.Engine {
	return rewriting(e, env, func(d *protocol.Rewriter, m types.Message) []types.Message {
		out := keep(m)
		v, ok := m.Payload.(*types.PBFTVote)
		if !ok || v.Phase == types.PhaseCheckpoint {
			return out
		}
		far := signVote(d, &types.PBFTVote{Phase: types.PhasePrepare, View: v.View, Seq: v.Seq + floodAhead, Digest: v.Digest, Replica: d.Env.ID})
		vc := signViewChange(d, &types.PBFTViewChange{View: v.View + floodAhead, Replica: d.Env.ID})
		out = append(out, types.Message{From: m.From, Broadcast: true, Payload: far}, types.Message{From: m.From, Broadcast: true, Payload: vc})
		if pbft.Primary(v.View, d.Env.N) == d.Env.ID {
			b := &types.Block{Height: v.Seq + floodAhead, View: v.View, Proposer: d.Env.ID}
			pp := signPrePrepare(d, &types.PBFTPrePrepare{View: v.View, Seq: b.Height, Block: b, Primary: d.Env.ID})
			out = append(out, types.Message{From: m.From, Broadcast: true, Payload: pp})
		}
		return out
	})
}
