package sim

import (
	"fmt"
	"math/rand/v2"

	"github.com/bftkit/bftkit/driver"
	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// nodeState is whether a simulated node is running.
type nodeState uint8

const (
	nodeUp nodeState = iota
	nodeCrashed
	nodePaused
)

// maxInbox bounds the messages held for a paused node; older ones are lost,
// as a real socket buffer would lose them.
const maxInbox = 4096

type node struct {
	id        types.ValidatorIndex
	driver    *driver.Driver // nil while crashed
	gateway   *driver.Gateway
	blocks    *driver.BlockServer
	durable   *Durable
	state     nodeState
	byzantine string // behaviour name; "" for honest
	inbox     []*packet
	rng       *rand.Rand
}

func (n *node) honest() bool { return n.byzantine == "" }

// running reports whether n is up with a driver that has not stopped.
func (n *node) running() bool { return n.state == nodeUp && n.driver != nil && n.driver.Err() == nil }

// Sim is one simulated network. Use New for scenario tests, or Run for a
// seeded two-phase run with random faults.
type Sim struct {
	cfg       Config
	rng       *rand.Rand
	now       uint64
	nodes     []*node
	net       *network
	oracle    *oracle
	log       *eventLog
	counters  Counters
	violation *Violation
	txSeq     uint64
	crypto    Crypto
	verifier  *qc.Verifier
}

// New builds a simulator for cfg and starts every node.
func New(cfg Config) (*Sim, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6266746b6974)) // "bftkit"
	s := &Sim{
		cfg:      cfg,
		rng:      rng,
		net:      newNetwork(cfg.N, rand.New(rand.NewPCG(cfg.Seed, 1))),
		oracle:   newOracle(cfg.Protocol.Validate),
		log:      newEventLog(),
		counters: newCounters(),
	}
	if cfg.Crypto != nil {
		s.crypto = *cfg.Crypto
	} else {
		// A fast hash scheme keyed by the seed; each engine gets a signer
		// for its own index only.
		hs := qc.NewHashScheme(cfg.N, cfg.Seed)
		s.crypto = Crypto{Scheme: hs, Signer: hs.Signer}
	}
	s.verifier = qc.NewSchemeVerifier(cfg.ChainID, cfg.N, types.QuorumSize(cfg.N), s.crypto.Scheme)
	for i := range cfg.N {
		id := types.ValidatorIndex(i)
		n := &node{id: id, durable: newDurable(), byzantine: cfg.Byzantine[id],
			rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i)+2))}
		s.nodes = append(s.nodes, n)
		s.start(n)
	}
	return s, nil
}

// Now is the current tick.
func (s *Sim) Now() uint64 { return s.now }

// Violation is the first safety violation seen, or nil.
func (s *Sim) Violation() *Violation { return s.violation }

// LogHash is the hash of every event so far: equal seeds, equal hashes.
func (s *Sim) LogHash() uint64 { return s.log.Sum() }

// Counters are the message counters so far.
func (s *Sim) Counters() Counters { return s.counters }

// Height is the height of the last block node i applied.
func (s *Sim) Height(i types.ValidatorIndex) uint64 { return s.nodes[i].durable.Height() }

// Committed returns the blocks node i applied, in height order.
func (s *Sim) Committed(i types.ValidatorIndex) []types.CommittedBlock {
	return append([]types.CommittedBlock(nil), s.nodes[i].durable.Committed...)
}

// MaxHonestHeight is the highest height any honest node applied.
func (s *Sim) MaxHonestHeight() uint64 {
	var h uint64
	for _, n := range s.nodes {
		if n.honest() {
			h = max(h, n.durable.Height())
		}
	}
	return h
}

// Tick advances virtual time by one tick: packets due are delivered, then
// every running node ticks, in index order.
func (s *Sim) Tick() {
	if s.violation != nil {
		return
	}
	s.now++
	for p := s.net.due(s.now); p != nil && s.violation == nil; p = s.net.due(s.now) {
		s.deliver(p)
	}
	for _, n := range s.nodes {
		if n.running() && s.violation == nil {
			s.driverFailed(n, n.driver.Tick())
		}
	}
}

// RunTicks runs k ticks, stopping early at a violation.
func (s *Sim) RunTicks(k int) {
	for range k {
		if s.violation != nil {
			return
		}
		s.Tick()
	}
}

// RunUntilHeight runs until every listed node (every honest node if none
// are listed) has applied height h, for at most maxTicks.
func (s *Sim) RunUntilHeight(h uint64, maxTicks int, nodes ...types.ValidatorIndex) error {
	if len(nodes) == 0 {
		nodes = s.honestNodes()
	}
	for range maxTicks {
		if s.violation != nil {
			return s.violation
		}
		if s.allReached(h, nodes) {
			return nil
		}
		s.Tick()
	}
	if s.allReached(h, nodes) {
		return nil
	}
	return fmt.Errorf("seed %d: nodes %v did not reach height %d within %d ticks (heights %v)", s.cfg.Seed, nodes, h, maxTicks, s.heights(nodes))
}

func (s *Sim) allReached(h uint64, nodes []types.ValidatorIndex) bool {
	for _, i := range nodes {
		if s.nodes[i].durable.Height() < h {
			return false
		}
	}
	return true
}

func (s *Sim) heights(nodes []types.ValidatorIndex) []uint64 {
	out := make([]uint64, len(nodes))
	for k, i := range nodes {
		out[k] = s.nodes[i].durable.Height()
	}
	return out
}

func (s *Sim) honestNodes() []types.ValidatorIndex {
	var out []types.ValidatorIndex
	for _, n := range s.nodes {
		if n.honest() {
			out = append(out, n.id)
		}
	}
	return out
}

// deliver hands a packet to its destination: lost if the node is down,
// held if it is paused.
func (s *Sim) deliver(p *packet) {
	n := s.nodes[p.to]
	switch n.state {
	case nodeCrashed:
		s.log.add(event{tick: s.now, kind: evDrop, node: p.to, peer: p.from, msgType: p.msgType, size: len(p.data), detail: "down"})
		return
	case nodePaused:
		if len(n.inbox) >= maxInbox {
			n.inbox = n.inbox[1:]
		}
		n.inbox = append(n.inbox, p)
		return
	}
	if !n.running() {
		return // a Byzantine node whose engine halted
	}
	s.deliverTo(n, p)
}
