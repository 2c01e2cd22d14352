package hotstuffbyz

import (
	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/types"
)

// Behaviours are HotStuff's Byzantine decorators by name.
// Each wraps the honest engine and rewrites what leaves it, signing with
// the node's own key only; the simulator adds the generic ones (silent,
// duplicate).
var Behaviours = protocol.Catalogue{
	"equivocate":  newEquivocate,
	"double-vote": newDoubleVote,
	"vote-invalid": func(e protocol.Engine, env protocol.Env) protocol.Engine {
		return rewriting(e, env, corruptVoteSignature)
	},
	"forge-qc":    newForgeQC,
	"tail-fork":   newTailFork,
	"stale-view":  newStaleView,
	"future-view": newFutureView,
	"bad-timeout": newBadTimeout,
	"frame":       newFrame,
}

// rewriting builds a Byzantine decorator whose rewrite can use the
// decorator's helpers (Sign, Unicast, Env).
func rewriting(e protocol.Engine, env protocol.Env, rewrite func(d *protocol.Rewriter, m types.Message) []types.Message) *protocol.Rewriter {
	d := &protocol.Rewriter{Engine: e, Env: env}
	if rewrite != nil {
		d.Rewrite = func(m types.Message) []types.Message { return rewrite(d, m) }
	}
	return d
}

// cloneBlock deep-copies a block through its encoding.
func cloneBlock(b *types.Block) *types.Block {
	data, err := b.Marshal()
	if err != nil {
		panic(err)
	}
	c := new(types.Block)
	if err := c.Unmarshal(data); err != nil {
		panic(err)
	}
	return c
}

// proposal signs a proposal of b (and tc) as d's node.
func proposal(d *protocol.Rewriter, b *types.Block, tc *types.TimeoutCert) *types.Proposal {
	return &types.Proposal{Block: b, Tc: tc, Signature: d.Sign(types.ProposalSignBytes(d.Env.ChainID, b.View, b.ID()))}
}

// newEquivocate: as leader, send one block to half the replicas and a
// different block for the same view to the other half.
func newEquivocate(e protocol.Engine, env protocol.Env) protocol.Engine {
	return rewriting(e, env, func(d *protocol.Rewriter, m types.Message) []types.Message {
		p, ok := m.Payload.(*types.Proposal)
		if !ok {
			return []types.Message{m}
		}
		twin := cloneBlock(p.Block)
		if len(twin.Txs) > 0 {
			twin.Txs = twin.Txs[:len(twin.Txs)-1]
		} else {
			twin.ParentAppHash = []byte{0xee}
		}
		other := proposal(d, twin, p.Tc)
		out := d.Unicast(m)
		for k := range out {
			if out[k].To%2 == 1 {
				out[k].Payload = other
			}
		}
		return out
	})
}

// newDoubleVote: every vote goes out twice, the second for another block.
func newDoubleVote(e protocol.Engine, env protocol.Env) protocol.Engine {
	return rewriting(e, env, func(d *protocol.Rewriter, m types.Message) []types.Message {
		v, ok := m.Payload.(*types.Vote)
		if !ok {
			return []types.Message{m}
		}
		other := *v
		other.BlockID[31] ^= 0xff
		other.Signature = d.Sign(types.VoteSignBytes(d.Env.ChainID, other.View, other.BlockID))
		return []types.Message{m, {From: m.From, To: m.To, Payload: &other}}
	})
}

// corruptVoteSignature sends votes whose signature does not verify.
func corruptVoteSignature(_ *protocol.Rewriter, m types.Message) []types.Message {
	if v, ok := m.Payload.(*types.Vote); ok {
		bad := *v
		bad.Signature = append([]byte(nil), v.Signature...)
		bad.Signature[0] ^= 0x01
		m.Payload = &bad
	}
	return []types.Message{m}
}
