package bench

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"

	"github.com/bftkit/bftkit/hotstuff"
	"github.com/bftkit/bftkit/hotstuff/hotstuffsim"
	"github.com/bftkit/bftkit/pbft/pbftsim"
	"github.com/bftkit/bftkit/raft/raftsim"
	"github.com/bftkit/bftkit/testnet/sim"
	"github.com/bftkit/bftkit/types"
)

// Protocols are the engines the benchmarks know, by name.
var Protocols = map[string]func() *sim.Protocol{
	"hotstuff": func() *sim.Protocol { return hotstuffsim.Protocol(hotstuffsim.Options{}) },
	"pbft":     func() *sim.Protocol { return pbftsim.Protocol(pbftsim.Options{}) },
	"raft":     func() *sim.Protocol { return raftsim.Protocol(raftsim.Options{}) },
}

// ProtocolNames lists Protocols, sorted.
func ProtocolNames() []string { return slices.Sorted(maps.Keys(Protocols)) }

// Scenarios of a complexity run.
const (
	Steady     = "steady"      // a calm network, nothing fails
	ViewChange = "view-change" // the block proposer crashes once, at the start
)

// Point is one measurement: per committed block, on average over the
// measured blocks.
type Point struct {
	Protocol string `json:"protocol"`
	N        int    `json:"n"`
	Scenario string `json:"scenario"`
	Blocks   uint64 `json:"blocks"`
	// Consensus messages and their bytes, per recipient (a broadcast to
	// n−1 peers counts n−1 times).
	Msgs  float64 `json:"msgs_per_block"`
	Bytes float64 `json:"bytes_per_block"`
	// Signatures created (one per consensus message a BFT engine signs)
	// and verified (one per signed message delivered, at the gateway).
	// Raft signs nothing.
	SigsCreated  float64 `json:"sigs_created_per_block"`
	SigsVerified float64 `json:"sigs_verified_per_block"`
	// CertBytes is the size of the certificate stored with each committed
	// block (HotStuff's commit QC, PBFT's commit certificate; none in Raft).
	CertBytes float64 `json:"cert_bytes_per_block"`
	// TxBytes are the transactions' bytes per block. In the simulator
	// they travel only inside proposals (no mempool gossip), so they are
	// part of Bytes; counted here to separate them.
	TxBytes float64 `json:"tx_bytes_per_block"`
}

// Config is what RunComplexity measures.
type Config struct {
	Protocols []string
	Ns        []int
	Blocks    uint64 // blocks measured per run, after warm-up
	// Progress, if set, is called after each run.
	Progress func(p Point)
}

// signs reports whether a protocol's messages carry signatures.
func signs(protocol string) bool { return protocol != "raft" }

// RunComplexity measures every protocol at every n, in both scenarios.
func RunComplexity(cfg Config) ([]Point, error) {
	var out []Point
	for _, name := range cfg.Protocols {
		if Protocols[name] == nil {
			return nil, fmt.Errorf("bench: unknown protocol %q (known: %v)", name, ProtocolNames())
		}
		for _, n := range cfg.Ns {
			if n < 1 || n > types.MaxValidators {
				return nil, fmt.Errorf("bench: n = %d is out of range 1..%d", n, types.MaxValidators)
			}
			for _, scenario := range []string{Steady, ViewChange} {
				if scenario == ViewChange && !canLoseOne(name, n) {
					continue // no quorum would survive the crash
				}
				p, err := measure(name, n, scenario, cfg.Blocks)
				if err != nil {
					return nil, err
				}
				out = append(out, p)
				if cfg.Progress != nil {
					cfg.Progress(p)
				}
			}
		}
	}
	return out, nil
}

// warmUp is the height every run reaches before it measures.
const warmUp = 5

func measure(protocol string, n int, scenario string, blocks uint64) (Point, error) {
	cfg := sim.DefaultConfig(Protocols[protocol](), n, 1)
	cfg.Faults = sim.Profiles["none"](1)
	s, err := sim.New(cfg)
	if err != nil {
		return Point{}, err
	}
	maxTicks := int(blocks)*200 + 2000
	if err := s.RunUntilHeight(warmUp, maxTicks); err != nil {
		return Point{}, fmt.Errorf("bench: %s n=%d warm-up: %w", protocol, n, err)
	}
	live := allNodes(n)
	if scenario == ViewChange {
		committed := s.Committed(0)
		down := currentLeader(protocol, committed[len(committed)-1].Block, n)
		s.Crash(down)
		live = slices.DeleteFunc(live, func(i types.ValidatorIndex) bool { return i == down })
	}
	before := snapshot(s.Counters())
	start := s.Height(live[0])
	if err := s.RunUntilHeight(start+blocks, maxTicks, live...); err != nil {
		return Point{}, fmt.Errorf("bench: %s n=%d %s: %w", protocol, n, scenario, err)
	}
	got := s.Height(live[0]) - start
	total := delta(before, s.Counters())
	p := Point{Protocol: protocol, N: n, Scenario: scenario, Blocks: got,
		Msgs: per(total.Sent, got), Bytes: per(total.Bytes, got)}
	if signs(protocol) {
		p.SigsCreated, p.SigsVerified = per(total.Created, got), per(total.Delivered, got)
	}
	for _, cb := range s.Committed(live[0])[start : start+got] {
		p.CertBytes += float64(len(cb.Proof))
		for _, tx := range cb.Block.Txs {
			p.TxBytes += float64(len(tx))
		}
	}
	p.CertBytes /= float64(got)
	p.TxBytes /= float64(got)
	return p, nil
}

// currentLeader names the node leading now, from the last committed
// block: PBFT's primary and Raft's leader proposed it; HotStuff commits a
// block of view v while view v+3 runs (three-chain), led by RoundRobin with
// two views per leader.
func currentLeader(protocol string, last *types.Block, n int) types.ValidatorIndex {
	if protocol == "hotstuff" {
		return hotstuff.RoundRobin{N: n, ViewsPerLeader: hotstuff.DefaultViewsPerLeader}.Leader(last.View + 3)
	}
	return last.Proposer
}

// canLoseOne says whether the network stays live with one node crashed:
// BFT needs n ≥ 4, Raft n ≥ 3.
func canLoseOne(protocol string, n int) bool {
	if protocol == "raft" {
		return n >= 3
	}
	return n >= 4
}

func allNodes(n int) []types.ValidatorIndex {
	out := make([]types.ValidatorIndex, n)
	for i := range out {
		out[i] = types.ValidatorIndex(i)
	}
	return out
}

// snapshot copies the counters (Counters shares its map).
func snapshot(c sim.Counters) map[types.MsgType]sim.Count { return maps.Clone(c.ByType) }

func delta(before map[types.MsgType]sim.Count, after sim.Counters) sim.Count {
	var d sim.Count
	for t, a := range after.ByType {
		b := before[t]
		d.Created += a.Created - b.Created
		d.Sent += a.Sent - b.Sent
		d.Delivered += a.Delivered - b.Delivered
		d.Bytes += a.Bytes - b.Bytes
	}
	return d
}

func per(x, blocks uint64) float64 { return float64(x) / float64(blocks) }

// Exponent is the growth exponent of msgs/block in n for one protocol in
// the steady scenario: the least-squares slope of log(msgs) on log(n).
// Linear protocols come out near 1, quadratic ones near 2.
func Exponent(points []Point, protocol string) float64 {
	var xs, ys []float64
	for _, p := range points {
		if p.Protocol == protocol && p.Scenario == Steady && p.Msgs > 0 {
			xs = append(xs, math.Log(float64(p.N)))
			ys = append(ys, math.Log(p.Msgs))
		}
	}
	return slope(xs, ys)
}

func slope(xs, ys []float64) float64 {
	if len(xs) < 2 {
		return math.NaN()
	}
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(len(xs))
	my /= float64(len(ys))
	var num, den float64
	for i := range xs {
		num += (xs[i] - mx) * (ys[i] - my)
		den += (xs[i] - mx) * (xs[i] - mx)
	}
	return num / den
}

// sortPoints orders points by protocol, scenario and n.
func sortPoints(ps []Point) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Protocol != b.Protocol {
			return a.Protocol < b.Protocol
		}
		if a.Scenario != b.Scenario {
			return a.Scenario > b.Scenario // steady first
		}
		return a.N < b.N
	})
}
