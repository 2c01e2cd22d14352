package protocol

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/bftkit/bftkit/types"
)

// Behaviour turns an honest engine into a Byzantine one. It wraps the
// engine (a decorator), so honest code carries no test hooks. The same
// decorators run in the simulator and, behind a flag, in a real node.
type Behaviour func(honest Engine, env Env) Engine

// Catalogue is a protocol's own behaviours by name; the generic ones
// (GenericBehaviours) come with every catalogue.
type Catalogue map[string]Behaviour

// Lookup finds a behaviour among c's and the generic ones.
func (c Catalogue) Lookup(name string) (Behaviour, error) {
	if b, ok := c[name]; ok {
		return b, nil
	}
	if b, ok := GenericBehaviours[name]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("unknown Byzantine behaviour %q (known: %s)", name, strings.Join(c.Names(), ", "))
}

// Names lists every behaviour of c and the generic ones, sorted.
func (c Catalogue) Names() []string {
	all := maps.Clone(GenericBehaviours)
	maps.Copy(all, c)
	return slices.Sorted(maps.Keys(all))
}

// GenericBehaviours work with any engine because they only change what
// leaves it. Protocol-specific ones (equivocate, forge-qc, ...) live with
// their protocol and are built on Rewriter too.
var GenericBehaviours = Catalogue{
	"silent": func(e Engine, env Env) Engine {
		return &Rewriter{Engine: e, Env: env, Rewrite: func(types.Message) []types.Message { return nil }}
	},
	// duplicate sends everything twice: peers must be idempotent.
	"duplicate": func(e Engine, env Env) Engine {
		return &Rewriter{Engine: e, Env: env, Rewrite: func(m types.Message) []types.Message { return []types.Message{m, m} }}
	},
}

// Rewriter is the shape of every Byzantine decorator: an honest engine
// whose outbound messages pass through Rewrite and whose inbound ones
// Observe sees first. The engine itself stays honest and unaware; the
// rewritten Ready is cached until Advance, so that repeated Ready calls
// return the same work even when Rewrite signs or draws randomness.
type Rewriter struct {
	Engine
	Env     Env
	Rewrite func(m types.Message) []types.Message // nil keeps messages as they are
	Observe func(m types.Message)                 // nil observes nothing
	cached  *types.Ready
}

// Step shows the message to Observe, then to the honest engine.
func (r *Rewriter) Step(m types.Message) error {
	if r.Observe != nil {
		r.Observe(m)
	}
	return r.Engine.Step(m)
}

// Ready is the honest engine's Ready with its messages rewritten.
func (r *Rewriter) Ready() types.Ready {
	if r.cached == nil {
		rd := r.Engine.Ready()
		if r.Rewrite != nil {
			var out []types.Message
			for _, m := range rd.Messages {
				out = append(out, r.Rewrite(m)...)
			}
			rd.Messages = out
		}
		r.cached = &rd
	}
	return *r.cached
}

// Advance hands the engine its own Ready back: the engine must not see the
// rewritten copy, whose slices differ.
func (r *Rewriter) Advance(types.Ready) {
	r.Engine.Advance(r.Engine.Ready())
	r.cached = nil
}

// Sign signs msg as this node (with its own key only).
func (r *Rewriter) Sign(msg []byte) []byte { return r.Env.Signer.Sign(msg) }

// Unicast turns a message into one copy per recipient other than self.
func (r *Rewriter) Unicast(m types.Message) []types.Message {
	if !m.Broadcast {
		return []types.Message{m}
	}
	var out []types.Message
	for i := range r.Env.N {
		if to := types.ValidatorIndex(i); to != r.Env.ID {
			out = append(out, types.Message{From: m.From, To: to, Payload: m.Payload})
		}
	}
	return out
}
