package sim

import (
	"math/rand/v2"

	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/types"
)

// Watch makes cfg's protocol record each engine it builds (restarts
// replace the entry), so that scenario tests can inspect the engines of
// type E a simulator runs. It returns the map it fills; engines that are
// not an E (a Byzantine decorator's wrapper is applied afterwards, so the
// honest engine is recorded) are left out. It changes cfg.Protocol to a
// copy.
func Watch[E types.Engine](cfg *Config) map[types.ValidatorIndex]E {
	engines := map[types.ValidatorIndex]E{}
	p := *cfg.Protocol
	build := p.New
	p.New = func(env protocol.Env) (protocol.Engine, error) {
		e, err := build(env)
		if typed, ok := e.(E); ok && err == nil {
			engines[env.ID] = typed
		}
		return e, err
	}
	cfg.Protocol = &p
	return engines
}

// DrawByzantine draws up to f = ⌊(n−1)/3⌋ Byzantine nodes and their
// behaviours from the seed, over every behaviour p knows, so that across
// seeds every behaviour meets every fault mix.
func (p *Protocol) DrawByzantine(seed uint64, n int) map[types.ValidatorIndex]string {
	r := rand.New(rand.NewPCG(seed, 0x62797a)) // "byz"
	names := p.BehaviourNames()
	out := map[types.ValidatorIndex]string{}
	for _, i := range r.Perm(n)[:r.IntN((n-1)/3+1)] {
		out[types.ValidatorIndex(i)] = names[r.IntN(len(names))]
	}
	return out
}
