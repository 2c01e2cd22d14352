package sim

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"

	"github.com/bftkit/bftkit/types"
)

// Faults is the fault mix of a safety phase. Each "Every" is the mean
// number of ticks between two such events (0: never).
type Faults struct {
	Link            LinkFaults
	PartitionEvery  int
	PartitionTicks  int  // how long a partition lasts
	OneWay          bool // partitions may cut one direction only
	CrashEvery      int
	PauseEvery      int
	DownTicks       int // how long a crashed or paused node stays down
	SwizzleEvery    int // swizzle-clog: clog nodes one by one, unclog in random order
	SwizzleStepTick int
}

func (f *Faults) check() error {
	l := f.Link
	if l.DelayMin < 0 || l.DelayMax < l.DelayMin {
		return fmt.Errorf("sim: link delay %d..%d is not a range", l.DelayMin, l.DelayMax)
	}
	for name, p := range map[string]float64{"drop": l.Drop, "duplicate": l.Duplicate, "replay": l.Replay} {
		if p < 0 || p > 1 {
			return fmt.Errorf("sim: %s probability %v is not in [0, 1]", name, p)
		}
	}
	if f.PartitionEvery < 0 || f.CrashEvery < 0 || f.PauseEvery < 0 || f.SwizzleEvery < 0 || f.DownTicks < 0 {
		return errors.New("sim: fault intervals must not be negative")
	}
	return nil
}

// Profiles are the named fault mixes of `bftkit sim --faults`.
var Profiles = map[string]func(seed uint64) Faults{
	"none": func(uint64) Faults { return Faults{Link: LinkFaults{DelayMin: 1, DelayMax: 1}} },
	"lossy": func(uint64) Faults {
		return Faults{Link: LinkFaults{DelayMin: 1, DelayMax: 5, Drop: 0.1, Duplicate: 0.05, Replay: 0.02}}
	},
	"partitions": func(uint64) Faults {
		return Faults{Link: LinkFaults{DelayMin: 1, DelayMax: 3}, PartitionEvery: 60, PartitionTicks: 50, OneWay: true}
	},
	"crashes": func(uint64) Faults {
		return Faults{Link: LinkFaults{DelayMin: 1, DelayMax: 3}, CrashEvery: 60, PauseEvery: 80, DownTicks: 40}
	},
	"swarm": DrawFaults,
}

// ProfileNames lists the fault profiles, sorted.
func ProfileNames() []string { return slices.Sorted(maps.Keys(Profiles)) }

// DrawFaults draws a fault mix from the seed, so that different seeds test
// different mixes (swarm testing): some seeds are calm, others lossy,
// partitioned, crashing, or all at once.
func DrawFaults(seed uint64) Faults {
	r := rand.New(rand.NewPCG(seed, 0x666175)) // "fau"
	pick := func(xs ...float64) float64 { return xs[r.IntN(len(xs))] }
	every := func(xs ...int) int { return xs[r.IntN(len(xs))] }
	delayMax := every(1, 2, 4, 8)
	return Faults{
		Link: LinkFaults{
			DelayMin: 1, DelayMax: delayMax,
			Drop: pick(0, 0, 0.01, 0.05, 0.2), Duplicate: pick(0, 0.02, 0.1), Replay: pick(0, 0.01, 0.05),
		},
		PartitionEvery: every(0, 0, 40, 100), PartitionTicks: every(10, 30, 80), OneWay: r.IntN(2) == 0,
		CrashEvery: every(0, 0, 50, 150), PauseEvery: every(0, 0, 60, 200), DownTicks: every(10, 40, 100),
		SwizzleEvery: every(0, 0, 0, 120), SwizzleStepTick: every(2, 5, 10),
	}
}

// --- The scenario API: faults a test applies by hand. ---

// Partition cuts every link between side and the other nodes, both ways.
func (s *Sim) Partition(side ...types.ValidatorIndex) {
	s.net.partition(side)
	s.log.add(event{tick: s.now, kind: evPartition, detail: fmt.Sprint(side)})
}

// CutOneWay drops every message from one node to another.
func (s *Sim) CutOneWay(from, to types.ValidatorIndex) {
	s.net.cutOneWay(from, to)
	s.log.add(event{tick: s.now, kind: evPartition, node: from, peer: to, detail: "one-way"})
}

// Heal removes every partition and clog.
func (s *Sim) Heal() {
	s.net.heal()
	s.log.add(event{tick: s.now, kind: evHeal})
}

// Crash stops node i; everything its engine held in memory is lost.
func (s *Sim) Crash(i types.ValidatorIndex) {
	n := s.nodes[i]
	if n.state == nodeCrashed {
		return
	}
	n.state, n.driver, n.inbox = nodeCrashed, nil, nil
	s.log.add(event{tick: s.now, kind: evCrash, node: i})
}

// Restart starts a crashed node again from its durable state.
func (s *Sim) Restart(i types.ValidatorIndex) {
	n := s.nodes[i]
	if n.state != nodeCrashed {
		return
	}
	s.log.add(event{tick: s.now, kind: evRestart, node: i})
	s.start(n)
}

// Pause freezes node i: it neither ticks nor receives; messages to it wait.
func (s *Sim) Pause(i types.ValidatorIndex) {
	n := s.nodes[i]
	if n.state != nodeUp {
		return
	}
	n.state = nodePaused
	s.log.add(event{tick: s.now, kind: evPause, node: i})
}

// Resume unfreezes node i and delivers what waited for it.
func (s *Sim) Resume(i types.ValidatorIndex) {
	n := s.nodes[i]
	if n.state != nodePaused {
		return
	}
	n.state = nodeUp
	s.log.add(event{tick: s.now, kind: evResume, node: i})
	inbox := n.inbox
	n.inbox = nil
	for _, p := range inbox {
		if s.violation != nil || !n.running() {
			return
		}
		s.deliverTo(n, p)
	}
}

// --- The random fault schedule of a safety phase. ---

// downNode is a node the schedule took down, and when it comes back.
type downNode struct {
	id    types.ValidatorIndex
	until uint64
	crash bool
}

// faultSchedule injects the faults of a Faults mix, tick by tick.
type faultSchedule struct {
	f              Faults
	rng            *rand.Rand
	partitionUntil uint64
	down           []downNode
	swizzle        []types.ValidatorIndex // clogged, in clog order
	swizzleLeft    []types.ValidatorIndex // still to clog
	swizzleNext    uint64
}

func (fs *faultSchedule) occurs(every int) bool { return every > 0 && fs.rng.IntN(every) == 0 }

// step injects this tick's faults.
func (fs *faultSchedule) step(s *Sim) {
	fs.bringBack(s)
	if fs.partitionUntil != 0 && s.now >= fs.partitionUntil {
		s.Heal()
		fs.partitionUntil = 0
	}
	if fs.partitionUntil == 0 && len(fs.swizzle)+len(fs.swizzleLeft) == 0 && fs.occurs(fs.f.PartitionEvery) {
		fs.partition(s)
	}
	if fs.occurs(fs.f.CrashEvery) {
		fs.takeDown(s, true)
	}
	if fs.occurs(fs.f.PauseEvery) {
		fs.takeDown(s, false)
	}
	fs.swizzleStep(s)
}

func (fs *faultSchedule) partition(s *Sim) {
	fs.partitionUntil = s.now + uint64(max(fs.f.PartitionTicks, 1))
	if fs.f.OneWay && fs.rng.IntN(2) == 0 {
		from := types.ValidatorIndex(fs.rng.IntN(s.cfg.N))
		to := types.ValidatorIndex(fs.rng.IntN(s.cfg.N))
		if from != to {
			s.CutOneWay(from, to)
		}
		return
	}
	var side []types.ValidatorIndex
	for _, i := range fs.rng.Perm(s.cfg.N)[:1+fs.rng.IntN(max(s.cfg.N-1, 1))] {
		side = append(side, types.ValidatorIndex(i))
	}
	slices.Sort(side)
	s.Partition(side...)
}

func (fs *faultSchedule) takeDown(s *Sim, crash bool) {
	i := types.ValidatorIndex(fs.rng.IntN(s.cfg.N))
	if s.nodes[i].state != nodeUp {
		return
	}
	fs.down = append(fs.down, downNode{id: i, until: s.now + uint64(max(fs.f.DownTicks, 1)), crash: crash})
	if crash {
		s.Crash(i)
	} else {
		s.Pause(i)
	}
}

func (fs *faultSchedule) bringBack(s *Sim) {
	kept := fs.down[:0]
	for _, d := range fs.down {
		if s.now < d.until {
			kept = append(kept, d)
			continue
		}
		if d.crash {
			s.Restart(d.id)
		} else {
			s.Resume(d.id)
		}
	}
	fs.down = kept
}

// swizzleStep runs swizzle-clog: clog a random subset one node at a time,
// then unclog them one at a time in a random order.
func (fs *faultSchedule) swizzleStep(s *Sim) {
	if len(fs.swizzle)+len(fs.swizzleLeft) == 0 {
		if fs.partitionUntil == 0 && fs.occurs(fs.f.SwizzleEvery) {
			for _, i := range fs.rng.Perm(s.cfg.N)[:1+fs.rng.IntN(s.cfg.N)] {
				fs.swizzleLeft = append(fs.swizzleLeft, types.ValidatorIndex(i))
			}
			fs.swizzleNext = s.now
		}
		return
	}
	if s.now < fs.swizzleNext {
		return
	}
	fs.swizzleNext = s.now + uint64(max(fs.f.SwizzleStepTick, 1))
	if len(fs.swizzleLeft) > 0 {
		i := fs.swizzleLeft[0]
		fs.swizzleLeft = fs.swizzleLeft[1:]
		fs.swizzle = append(fs.swizzle, i)
		s.net.clog(i, true)
		s.log.add(event{tick: s.now, kind: evClog, node: i, detail: "on"})
		if len(fs.swizzleLeft) == 0 {
			fs.rng.Shuffle(len(fs.swizzle), func(a, b int) { fs.swizzle[a], fs.swizzle[b] = fs.swizzle[b], fs.swizzle[a] })
		}
		return
	}
	i := fs.swizzle[0]
	fs.swizzle = fs.swizzle[1:]
	s.net.clog(i, false)
	// Unclogging may reopen links a clog of another node still closes.
	for _, j := range fs.swizzle {
		s.net.clog(j, true)
	}
	s.log.add(event{tick: s.now, kind: evClog, node: i, detail: "off"})
}

// restoreAll ends every fault of the schedule: the liveness phase begins.
func (fs *faultSchedule) restoreAll(s *Sim) {
	for _, d := range fs.down {
		if d.crash {
			s.Restart(d.id)
		} else {
			s.Resume(d.id)
		}
	}
	fs.down, fs.swizzle, fs.swizzleLeft, fs.partitionUntil = nil, nil, nil, 0
	s.Heal()
}
