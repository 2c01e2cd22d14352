package hotstuffsim

import (
	"crypto/sha256"
	"fmt"

	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/types"
)

// Twins (Bano et al., "Twins: BFT Systems Made Robust", 2022): a Byzantine
// node runs two honest instances under one key, each serving one "world"
// of the honest nodes. With f+1 twins and the worlds cut apart, each world
// sees a full quorum and the protocol must fork: that is how the harness
// proves it can see a fork. With f twins it must not.

// TwinsWorlds builds the "twins" behaviour for one run: honest nodes in
// worldA talk to the twins' first instances, all others to the second.
// Messages between twins are routed by remembering which instance emitted
// each payload (the twins share this one process).
func TwinsWorlds(worldA, twinNodes []types.ValidatorIndex) protocol.Behaviour {
	inA := map[types.ValidatorIndex]bool{}
	for _, i := range worldA {
		inA[i] = true
	}
	twin := map[types.ValidatorIndex]bool{}
	for _, i := range twinNodes {
		twin[i] = true
	}
	sent := map[[32]byte]int{} // payload hash → world (0 = A, 1 = B, 2 = both)
	return func(honest protocol.Engine, env protocol.Env) protocol.Engine {
		second, err := Protocol(Options{}).New(env) // same key, same durable start
		if err != nil {
			panic(fmt.Sprintf("hotstuffsim: a twin's second instance: %v", err)) // the first one started from the same state
		}
		return &twins{worlds: [2]protocol.Engine{honest, second}, inA: inA, twin: twin, sent: sent, env: env}
	}
}

type twins struct {
	worlds [2]protocol.Engine
	inA    map[types.ValidatorIndex]bool
	twin   map[types.ValidatorIndex]bool
	sent   map[[32]byte]int
	env    protocol.Env
	cached *types.Ready
	asked  [2]bool
}

func payloadHash(p types.Payload) [32]byte {
	data, err := p.Marshal()
	if err != nil {
		panic(err)
	}
	return sha256.Sum256(data)
}

// worldOf says which instance a message is for: honest senders by their
// world, twins by the instance that emitted the payload.
func (t *twins) worldOf(m types.Message) int {
	if w, ok := t.sent[payloadHash(m.Payload)]; ok {
		return w
	}
	if t.inA[m.From] {
		return 0
	}
	return 1
}

func (t *twins) Step(m types.Message) error {
	switch w := t.worldOf(m); w {
	case 2:
		_ = t.worlds[0].Step(m)
		return t.worlds[1].Step(m)
	default:
		return t.worlds[w].Step(m)
	}
}

func (t *twins) Tick() {
	t.worlds[0].Tick()
	t.worlds[1].Tick()
}

func (t *twins) Propose(p types.ProposalPayload) error {
	var err error
	for w := range t.worlds {
		if t.asked[w] {
			t.asked[w] = false
			if e := t.worlds[w].Propose(p); e != nil {
				err = e
			}
		}
	}
	return err
}

// Position is the first instance's.
func (t *twins) Position() (uint64, types.ValidatorIndex) { return t.worlds[0].Position() }

// Halted is either instance's reason to stop.
func (t *twins) Halted() error {
	if err := t.worlds[0].Halted(); err != nil {
		return err
	}
	return t.worlds[1].Halted()
}

func (t *twins) HasReady() bool { return t.worlds[0].HasReady() || t.worlds[1].HasReady() }

// Ready merges the instances' work, each instance's messages going only
// to its own world (and to the other twins, tagged by payload).
func (t *twins) Ready() types.Ready {
	if t.cached != nil {
		return *t.cached
	}
	var out types.Ready
	for w, e := range t.worlds {
		rd := e.Ready()
		if w == 0 {
			out.SafetyState, out.Blocks, out.Committed = rd.SafetyState, rd.Blocks, rd.Committed
		}
		if rd.PayloadRequest != nil {
			t.asked[w] = true
			out.PayloadRequest = rd.PayloadRequest
		}
		for _, m := range rd.Messages {
			out.Messages = append(out.Messages, t.route(w, m)...)
		}
	}
	t.cached = &out
	return out
}

func (t *twins) route(w int, m types.Message) []types.Message {
	h := payloadHash(m.Payload)
	if prev, ok := t.sent[h]; ok && prev != w {
		t.sent[h] = 2
	} else {
		t.sent[h] = w
	}
	var out []types.Message
	for i := range t.env.N {
		to := types.ValidatorIndex(i)
		if to == t.env.ID || (!m.Broadcast && to != m.To) {
			continue
		}
		honestWorld := 1
		if t.inA[to] {
			honestWorld = 0
		}
		if t.twin[to] || honestWorld == w {
			out = append(out, types.Message{From: m.From, To: to, Payload: m.Payload})
		}
	}
	return out
}

func (t *twins) Advance(types.Ready) {
	for _, e := range t.worlds {
		e.Advance(e.Ready())
	}
	t.cached = nil
}
