package sim

import (
	"slices"

	"github.com/bftkit/bftkit/types"
)

// GenericBehaviours work with any engine because they only change what
// leaves it. Protocol-specific ones (equivocate, forge-qc, ...) live with
// their protocol.
var GenericBehaviours = map[string]Behaviour{
	"silent": func(e types.Engine, _ NodeEnv) types.Engine {
		return &outboundFilter{Engine: e, keep: func(types.Message) bool { return false }}
	},
	// duplicate sends everything twice: peers must be idempotent.
	"duplicate": func(e types.Engine, _ NodeEnv) types.Engine { return &duplicator{Engine: e} },
}

// outboundFilter drops outbound messages for which keep is false; the
// wrapped engine still runs, so it behaves honestly in everything else.
type outboundFilter struct {
	types.Engine
	keep func(types.Message) bool
}

func (f *outboundFilter) Ready() types.Ready {
	rd := f.Engine.Ready()
	kept := rd.Messages[:0:0]
	for _, m := range rd.Messages {
		if f.keep(m) {
			kept = append(kept, m)
		}
	}
	rd.Messages = kept
	return rd
}

// Advance hands the engine its own Ready back: the engine must not see the
// filtered copy, whose slices differ.
func (f *outboundFilter) Advance(rd types.Ready) { f.Engine.Advance(f.Engine.Ready()) }

// duplicator sends every outbound message twice.
type duplicator struct{ types.Engine }

func (d *duplicator) Ready() types.Ready {
	rd := d.Engine.Ready()
	rd.Messages = slices.Concat(rd.Messages, rd.Messages)
	return rd
}

func (d *duplicator) Advance(types.Ready) { d.Engine.Advance(d.Engine.Ready()) }

func sortedUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
