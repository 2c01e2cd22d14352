package hotstuffsim

import (
	"github.com/bftkit/bftkit/testnet/sim"
	"github.com/bftkit/bftkit/types"
)

// Behaviours are HotStuff's Byzantine decorators by name (DESIGN.md §5).
// Each wraps the honest engine and rewrites what leaves it, signing with
// the node's own key only; the simulator adds the generic ones (silent,
// duplicate).
var Behaviours = map[string]sim.Behaviour{
	"equivocate":  newEquivocate,
	"double-vote": newDoubleVote,
	"vote-invalid": func(e types.Engine, env sim.NodeEnv) types.Engine {
		return rewriting(e, env, corruptVoteSignature)
	},
	"forge-qc":    newForgeQC,
	"tail-fork":   newTailFork,
	"stale-view":  newStaleView,
	"future-view": newFutureView,
	"bad-timeout": newBadTimeout,
}

// decorator is an honest engine whose outbound messages are rewritten
// (and inbound ones observed). The rewritten Ready is cached until
// Advance, so that repeated Ready calls return the same work.
type decorator struct {
	types.Engine
	env     sim.NodeEnv
	rewrite func(d *decorator, m types.Message) []types.Message
	observe func(m types.Message)
	cached  *types.Ready
}

func rewriting(e types.Engine, env sim.NodeEnv, rewrite func(d *decorator, m types.Message) []types.Message) *decorator {
	return &decorator{Engine: e, env: env, rewrite: rewrite}
}

func (d *decorator) Step(m types.Message) error {
	if d.observe != nil {
		d.observe(m)
	}
	return d.Engine.Step(m)
}

func (d *decorator) Ready() types.Ready {
	if d.cached == nil {
		rd := d.Engine.Ready()
		var out []types.Message
		for _, m := range rd.Messages {
			out = append(out, d.rewrite(d, m)...)
		}
		rd.Messages = out
		d.cached = &rd
	}
	return *d.cached
}

func (d *decorator) Advance(types.Ready) {
	d.Engine.Advance(d.Engine.Ready())
	d.cached = nil
}

func (d *decorator) sign(msg []byte) []byte { return d.env.Signer.Sign(msg) }

// unicast turns a message into one copy per recipient other than self.
func (d *decorator) unicast(m types.Message) []types.Message {
	if !m.Broadcast {
		return []types.Message{m}
	}
	var out []types.Message
	for i := range d.env.N {
		if to := types.ValidatorIndex(i); to != d.env.ID {
			out = append(out, types.Message{From: m.From, To: to, Payload: m.Payload})
		}
	}
	return out
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

// proposal signs a proposal of b (and tc) as this node.
func (d *decorator) proposal(b *types.Block, tc *types.TimeoutCert) *types.Proposal {
	return &types.Proposal{Block: b, Tc: tc, Signature: d.sign(types.ProposalSignBytes(d.env.ChainID, b.View, b.ID()))}
}

// newEquivocate: as leader, send one block to half the replicas and a
// different block for the same view to the other half.
func newEquivocate(e types.Engine, env sim.NodeEnv) types.Engine {
	return rewriting(e, env, func(d *decorator, m types.Message) []types.Message {
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
		other := d.proposal(twin, p.Tc)
		out := d.unicast(m)
		for k := range out {
			if out[k].To%2 == 1 {
				out[k].Payload = other
			}
		}
		return out
	})
}

// newDoubleVote: every vote goes out twice, the second for another block.
func newDoubleVote(e types.Engine, env sim.NodeEnv) types.Engine {
	return rewriting(e, env, func(d *decorator, m types.Message) []types.Message {
		v, ok := m.Payload.(*types.Vote)
		if !ok {
			return []types.Message{m}
		}
		other := *v
		other.BlockID[31] ^= 0xff
		other.Signature = d.sign(types.VoteSignBytes(d.env.ChainID, other.View, other.BlockID))
		return []types.Message{m, {From: m.From, To: m.To, Payload: &other}}
	})
}

// corruptVoteSignature sends votes whose signature does not verify.
func corruptVoteSignature(_ *decorator, m types.Message) []types.Message {
	if v, ok := m.Payload.(*types.Vote); ok {
		bad := *v
		bad.Signature = append([]byte(nil), v.Signature...)
		bad.Signature[0] ^= 0x01
		m.Payload = &bad
	}
	return []types.Message{m}
}
