package sim

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bftkit/bftkit/types"
)

// Result summarises one seeded run.
type Result struct {
	Seed      uint64
	Violation *Violation // a broken safety invariant, or nil
	// LivenessFailure says why the liveness phase failed, or is "".
	LivenessFailure string
	Core            []types.ValidatorIndex
	Blocks          uint64 // the highest height an honest node applied
	Ticks           uint64
	Counters        Counters
	LogHash         uint64
}

// Failed reports whether the run broke safety or liveness.
func (r *Result) Failed() bool { return r.Violation != nil || r.LivenessFailure != "" }

// Run simulates one seed in two phases. The safety phase runs the fault
// mix for SafetyTicks. The liveness phase then heals the network, brings
// nodes back, keeps a core of at least 2f+1 honest nodes (some honest nodes
// may stay down while there are fewer than f Byzantine ones), and requires
// every core node to commit LivenessBlocks new blocks within LivenessTicks
// and agree on them.
func Run(cfg Config) (Result, error) {
	s, err := New(cfg)
	if err != nil {
		return Result{}, err
	}
	fs := &faultSchedule{f: cfg.Faults, rng: s.rng}
	s.net.faults = cfg.Faults.Link
	for range cfg.SafetyTicks {
		if s.violation != nil {
			break
		}
		fs.step(s)
		s.Tick()
	}
	res := Result{Seed: cfg.Seed}
	if s.violation == nil {
		res.Core, res.LivenessFailure = s.livenessPhase(fs)
	}
	res.Violation = s.violation
	res.Blocks = s.MaxHonestHeight()
	res.Ticks = s.now
	res.Counters = s.counters
	res.LogHash = s.log.Sum()
	return res, nil
}

func (s *Sim) livenessPhase(fs *faultSchedule) ([]types.ValidatorIndex, string) {
	fs.restoreAll(s)
	s.net.faults = LinkFaults{DelayMin: 1, DelayMax: max(s.cfg.Faults.Link.DelayMax, 1)}
	core := s.pickCore()
	for _, n := range s.nodes {
		if n.honest() && !slices.Contains(core, n.id) {
			s.Crash(n.id)
		}
	}
	var target uint64
	for _, i := range core {
		target = max(target, s.nodes[i].durable.Height())
	}
	target += uint64(s.cfg.LivenessBlocks)
	if err := s.RunUntilHeight(target, s.cfg.LivenessTicks, core...); err != nil {
		if s.violation != nil {
			return core, ""
		}
		return core, fmt.Sprintf("liveness: %v\nlast events:\n  %s", err, strings.Join(s.log.last(), "\n  "))
	}
	return core, ""
}

// pickCore chooses the honest nodes that must make progress: all of them,
// except that while fewer than f nodes are Byzantine, up to the difference
// may stay down, so the core is never smaller than n − f ≥ 2f+1.
func (s *Sim) pickCore() []types.ValidatorIndex {
	f := (s.cfg.N - 1) / 3
	spare := max(f-len(s.cfg.Byzantine), 0)
	honest := s.honestNodes()
	var optional []types.ValidatorIndex
	for _, i := range honest {
		if !slices.Contains(s.cfg.Protocol.CoreMustInclude, i) {
			optional = append(optional, i)
		}
	}
	out := make(map[types.ValidatorIndex]bool)
	for _, i := range honest {
		out[i] = true
	}
	if spare > 0 && len(optional) > 0 {
		s.rng.Shuffle(len(optional), func(a, b int) { optional[a], optional[b] = optional[b], optional[a] })
		for _, i := range optional[:min(s.rng.IntN(spare+1), len(optional))] {
			delete(out, i)
		}
	}
	var core []types.ValidatorIndex
	for _, i := range honest {
		if out[i] {
			core = append(core, i)
		}
	}
	return core
}
