package raft

import (
	"math/rand/v2"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/bftkit/bftkit/types"
)

// testConfig is DefaultConfig for node id of n, with a source seeded from
// seed and id.
func testConfig(id types.ValidatorIndex, n int, seed uint64) Config {
	cfg := DefaultConfig(id, n)
	cfg.Rand = rand.New(rand.NewPCG(seed, uint64(id)))
	return cfg
}

// newEngine builds a fresh node id of n.
func newEngine(t *testing.T, id types.ValidatorIndex, n int, seed uint64) *Engine {
	t.Helper()
	e, err := New(testConfig(id, n, seed), Restored{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// raftMsg is a raft message of type typ in term, from one validator to
// another; tests set the other fields.
func raftMsg(typ raftpb.MessageType, from, to types.ValidatorIndex, term uint64) *raftpb.Message {
	return &raftpb.Message{Type: typ.Enum(), From: new(raftID(from)), To: new(raftID(to)), Term: new(term)}
}

// wire wraps m as the engine receives it from the network.
func wire(t *testing.T, m *raftpb.Message) types.Message {
	t.Helper()
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatalf("encode %v: %v", m.GetType(), err)
	}
	from := validator(m.GetFrom())
	return types.Message{From: from, To: validator(m.GetTo()), Payload: &types.RaftMessage{Sender: from, Message: data}}
}

// entry is an empty normal entry (no block), as a new leader appends.
func entry(index, term uint64) *raftpb.Entry {
	return &raftpb.Entry{Index: new(index), Term: new(term), Type: raftpb.EntryType_EntryNormal.Enum()}
}

// entries are empty entries from..to, all of term.
func entries(from, to, term uint64) []*raftpb.Entry {
	var ents []*raftpb.Entry
	for i := from; i <= to; i++ {
		ents = append(ents, entry(i, term))
	}
	return ents
}

// step delivers m and fails the test if the engine refuses it.
func step(t *testing.T, e *Engine, m *raftpb.Message) {
	t.Helper()
	if err := e.Step(wire(t, m)); err != nil {
		t.Fatalf("Step(%v): %v", m.GetType(), err)
	}
}

// drain carries out every Ready (as a driver would, minus the disk) and
// returns what the engine sent.
func drain(e *Engine) []types.Message {
	var out []types.Message
	for e.HasReady() {
		rd := e.Ready()
		out = append(out, rd.Messages...)
		e.Advance(rd)
	}
	return out
}

// panicOf runs f and returns what it panicked with, or nil.
func panicOf(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

// cluster is n engines on a lossless network that delivers everything
// between rounds, enough to elect a leader and commit a few blocks. It
// keeps what each node's driver would have stored.
type cluster struct {
	t       *testing.T
	engines []*Engine
	budget  int // blocks left to propose
	stored  []stored
}

// stored is one node's durable state: its last safety state, every block
// it was told to store, and its committed chain.
type stored struct {
	safety    []byte
	blocks    map[types.BlockID]*types.Block
	committed []types.CommittedBlock
}

// newCluster builds n nodes that will propose blocks blocks in all; tune,
// if not nil, adjusts each node's Config.
func newCluster(t *testing.T, n int, seed uint64, blocks int, tune func(*Config)) *cluster {
	t.Helper()
	c := &cluster{t: t, budget: blocks, stored: make([]stored, n)}
	for i := range n {
		cfg := testConfig(types.ValidatorIndex(i), n, seed)
		if tune != nil {
			tune(&cfg)
		}
		e, err := New(cfg, Restored{})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		c.engines = append(c.engines, e)
		c.stored[i].blocks = make(map[types.BlockID]*types.Block)
	}
	return c
}

// settle runs Readys and deliveries until nothing is left to do.
func (c *cluster) settle() {
	c.t.Helper()
	for range 10_000 {
		var msgs []types.Message
		busy := false
		for i, e := range c.engines {
			for e.HasReady() {
				busy = true
				rd := e.Ready()
				st := &c.stored[i]
				if rd.SafetyState != nil {
					st.safety = rd.SafetyState
				}
				for _, b := range rd.Blocks {
					st.blocks[b.ID()] = b
				}
				st.committed = append(st.committed, rd.Committed...)
				msgs = append(msgs, rd.Messages...)
				e.Advance(rd)
				if rq := rd.PayloadRequest; rq != nil && c.budget > 0 {
					c.budget--
					if err := e.Propose(types.ProposalPayload{View: rq.View, Txs: []types.Tx{{byte(c.budget)}}}); err != nil {
						c.t.Fatalf("Propose: %v", err)
					}
				}
			}
		}
		for _, m := range msgs {
			if err := c.engines[m.To].Step(m); err != nil {
				c.t.Fatalf("honest %v from %d to %d refused: %v", m.Payload.MsgType(), m.From, m.To, err)
			}
		}
		if !busy && len(msgs) == 0 {
			return
		}
	}
	c.t.Fatal("cluster does not settle")
}

// leader ticks until one engine leads and every block is committed, and
// returns it.
func (c *cluster) leader() *Engine {
	c.t.Helper()
	for range 1000 {
		for _, e := range c.engines {
			e.Tick()
		}
		c.settle()
		for _, e := range c.engines {
			if e.isLeader() && c.budget == 0 && e.committed.height > 0 && e.committed.height == e.tail.height {
				return e
			}
		}
	}
	c.t.Fatal("no leader")
	return nil
}
