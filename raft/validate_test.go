package raft

import (
	"errors"
	"math"
	"strings"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/bftkit/bftkit/types"
)

// A scenario builds a node in some state (deterministically: the same seed
// gives the same node) and the message to deliver to it.
type scenario func(t *testing.T) (*Engine, *raftpb.Message)

// fresh is node 1 of 3, just started, and a message to it from node 0.
func fresh(typ raftpb.MessageType, term uint64, build func(m *raftpb.Message)) scenario {
	return func(t *testing.T) (*Engine, *raftpb.Message) {
		m := raftMsg(typ, 0, 1, term)
		if build != nil {
			build(m)
		}
		return newEngine(t, 1, 3, 7), m
	}
}

// following is node 1 of 3, following node 0 in term 1 (it heard a
// heartbeat), and a message from node 0.
func following(typ raftpb.MessageType, term uint64, build func(m *raftpb.Message)) scenario {
	return func(t *testing.T) (*Engine, *raftpb.Message) {
		e := newEngine(t, 1, 3, 7)
		step(t, e, raftMsg(raftpb.MessageType_MsgHeartbeat, 0, 1, 1))
		m := raftMsg(typ, 0, 1, term)
		if build != nil {
			build(m)
		}
		return e, m
	}
}

// leading is the leader of a 3-node cluster that committed two blocks, and
// a message to it from the next node, in the leader's term unless build
// changes it.
func leading(typ raftpb.MessageType, build func(m *raftpb.Message)) scenario {
	return func(t *testing.T) (*Engine, *raftpb.Message) {
		l := newCluster(t, 3, 11, 2, nil).leader()
		m := raftMsg(typ, (l.cfg.ID+1)%3, l.cfg.ID, l.Term())
		if build != nil {
			build(m)
		}
		return l, m
	}
}

// TestStepRefusesWhatWouldPanicEtcdRaft shows, for each kind of input that
// validate.go refuses because of a panic, that etcd raft panics when the
// message reaches it (stepped into the RawNode directly, as Step did before
// it checked), and that Step returns an error instead and the node goes on.
func TestStepRefusesWhatWouldPanicEtcdRaft(t *testing.T) {
	snapshotData, err := (&types.RaftEntry{Index: 5, Term: 1, Height: 2}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	snapshotWith := func(cs *raftpb.ConfState) func(m *raftpb.Message) {
		return func(m *raftpb.Message) {
			m.Snapshot = &raftpb.Snapshot{Data: snapshotData, Metadata: &raftpb.SnapshotMetadata{Index: new(uint64(5)), Term: new(uint64(1)), ConfState: cs}}
		}
	}
	tests := []struct {
		name  string
		state scenario
		// then runs after the message, for panics that come later (a
		// wrapped-around term panics at the next campaign).
		then      func(e *Engine)
		wantErr   string // in Step's error
		wantPanic string // in etcd raft's panic
	}{
		{
			name:      "heartbeat commits beyond the log",
			state:     fresh(raftpb.MessageType_MsgHeartbeat, 1, func(m *raftpb.Message) { m.Commit = new(uint64(5)) }),
			wantErr:   "commits index 5 beyond this node's log",
			wantPanic: "tocommit(5) is out of range",
		},
		{
			name: "append numbers its entries out of order",
			state: fresh(raftpb.MessageType_MsgApp, 1, func(m *raftpb.Message) {
				m.Entries = []*raftpb.Entry{entry(3, 1)}
			}),
			wantErr:   "entry 0 has index 3, want 1",
			wantPanic: "is out of range",
		},
		{
			name: "append rewrites a committed entry",
			state: func(t *testing.T) (*Engine, *raftpb.Message) {
				e := newEngine(t, 1, 3, 7)
				first := raftMsg(raftpb.MessageType_MsgApp, 0, 1, 1)
				first.Entries, first.Commit = entries(1, 3, 1), new(uint64(3))
				step(t, e, first)
				m := raftMsg(raftpb.MessageType_MsgApp, 0, 1, 2)
				m.Index, m.LogTerm, m.Entries = new(uint64(3)), new(uint64(1)), []*raftpb.Entry{entry(2, 2)}
				return e, m
			},
			wantErr:   "entry 0 has index 2, want 4",
			wantPanic: "entry 2 conflict with committed entry",
		},
		{
			name:      "vote request in term 0",
			state:     fresh(raftpb.MessageType_MsgVote, 0, nil),
			wantErr:   "term 0",
			wantPanic: "term should be set when sending MsgVoteResp",
		},
		{
			name:      "term so high that the next campaign wraps to 0",
			state:     fresh(raftpb.MessageType_MsgHeartbeat, math.MaxUint64, nil),
			then:      func(e *Engine) { tickRawNode(e, 5*e.cfg.ElectionTicks) },
			wantErr:   "beyond",
			wantPanic: "term should be set when sending MsgPreVote",
		},
		{
			name:      "proposal forwarded to the leader with a term",
			state:     following(raftpb.MessageType_MsgProp, 1, func(m *raftpb.Message) { m.Entries = []*raftpb.Entry{entry(0, 0)} }),
			wantErr:   "not a type this adapter's peers send",
			wantPanic: "term should not be set when sending MsgProp",
		},
		{
			name:      "read-index request forwarded to the leader with a term",
			state:     following(raftpb.MessageType_MsgReadIndex, 1, nil),
			wantErr:   "not a type this adapter's peers send",
			wantPanic: "term should not be set when sending MsgReadIndex",
		},
		{
			name:      "leadership transfer forwarded to the leader with a term",
			state:     following(raftpb.MessageType_MsgTransferLeader, 1, nil),
			wantErr:   "not a type this adapter's peers send",
			wantPanic: "term should not be set when sending MsgTransferLeader",
		},
		{
			name:      "empty proposal to the leader",
			state:     leading(raftpb.MessageType_MsgProp, func(m *raftpb.Message) { m.Term = nil }),
			wantErr:   "not a type this adapter's peers send",
			wantPanic: "stepped empty MsgProp",
		},
		{
			name:      "heartbeat response with a short read-index context",
			state:     leading(raftpb.MessageType_MsgHeartbeatResp, func(m *raftpb.Message) { m.Context = []byte{1, 2, 3} }),
			wantErr:   "carries a context",
			wantPanic: "out of range",
		},
		{
			name:      "acknowledgement beyond the leader's log",
			state:     leading(raftpb.MessageType_MsgAppResp, func(m *raftpb.Message) { m.Index = new(uint64(100)) }),
			wantErr:   "acknowledges index 100 beyond this leader's log",
			wantPanic: "need non-empty snapshot",
		},
		{
			name:      "snapshot whose configuration also has learners",
			state:     fresh(raftpb.MessageType_MsgSnap, 1, snapshotWith(&raftpb.ConfState{Voters: []uint64{1, 2, 3}, Learners: []uint64{2}})),
			wantErr:   "snapshot configuration",
			wantPanic: "ConfStates not equivalent",
		},
		{
			name:      "snapshot with duplicate voters",
			state:     fresh(raftpb.MessageType_MsgSnap, 1, snapshotWith(&raftpb.ConfState{Voters: []uint64{1, 2, 3, 3}})),
			wantErr:   "snapshot configuration",
			wantPanic: "ConfStates not equivalent",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Without the check: etcd raft panics.
			e, m := tt.state(t)
			v := panicOf(func() {
				_ = e.rn.Step(proto.Clone(m).(*raftpb.Message))
				if tt.then != nil {
					tt.then(e)
				}
			})
			if v == nil {
				t.Fatalf("etcd raft took %v without panicking", m.GetType())
			}
			got := panicText(v)
			if !strings.Contains(got, tt.wantPanic) {
				t.Fatalf("etcd raft panicked with %q, want %q", got, tt.wantPanic)
			}
			t.Logf("etcd raft panics: %s", got)

			// With it: an error, and the node goes on.
			e, m = tt.state(t)
			err := e.Step(wire(t, m))
			if !errors.Is(err, ErrInvalidRaftMessage) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Step = %v, want ErrInvalidRaftMessage with %q", err, tt.wantErr)
			}
			if v := panicOf(func() {
				if tt.then != nil {
					tt.then(e)
				}
				drain(e)
				for range 3 * e.cfg.ElectionTicks {
					e.Tick()
					drain(e)
				}
			}); v != nil {
				t.Fatalf("the node panicked after refusing the message: %v", v)
			}
		})
	}
}

// tickRawNode ticks etcd raft directly, draining its Readys, n times.
func tickRawNode(e *Engine, n int) {
	for range n {
		e.rn.Tick()
		for e.rn.HasReady() {
			e.rn.Advance(e.rn.Ready())
		}
	}
}

func panicText(v any) string {
	switch v := v.(type) {
	case error:
		return v.Error()
	case string:
		return v
	}
	return ""
}

// TestStepRefusesWhatPeersNeverSend covers the refusals that do not prevent
// a panic: types and fields this adapter's peers never use, and input that
// contradicts Raft's invariants. etcd raft would take them, with effects
// from a needless election to a configuration change.
func TestStepRefusesWhatPeersNeverSend(t *testing.T) {
	vote := func(m *raftpb.Message) { m.Index, m.LogTerm = new(uint64(0)), new(uint64(0)) }
	tests := []struct {
		name    string
		state   scenario
		wantErr string
	}{
		{"local type", fresh(raftpb.MessageType_MsgHup, 1, nil), "local to a node"},
		{"storage type", fresh(raftpb.MessageType_MsgStorageAppendResp, 1, nil), "local to a node"},
		{"leadership handed over", following(raftpb.MessageType_MsgTimeoutNow, 1, nil), "not a type"},
		{"leader forgotten", following(raftpb.MessageType_MsgForgetLeader, 1, nil), "not a type"},
		{"read-index answer", following(raftpb.MessageType_MsgReadIndexResp, 1, nil), "not a type"},
		{"unknown type", fresh(raftpb.MessageType(99), 1, nil), "not a type"},
		{"append in term 0", fresh(raftpb.MessageType_MsgApp, 0, nil), "term 0"},
		{"vote forcing a leadership transfer", fresh(raftpb.MessageType_MsgVote, 2, func(m *raftpb.Message) { vote(m); m.Context = []byte("CampaignTransfer") }), "carries a context"},
		{"vote with entries", fresh(raftpb.MessageType_MsgVote, 2, func(m *raftpb.Message) { vote(m); m.Entries = entries(1, 1, 1) }), "carries entries"},
		{"heartbeat with a snapshot", fresh(raftpb.MessageType_MsgHeartbeat, 1, func(m *raftpb.Message) { m.Snapshot = &raftpb.Snapshot{} }), "carries a snapshot"},
		{"heartbeat with storage responses", fresh(raftpb.MessageType_MsgHeartbeat, 1, func(m *raftpb.Message) { m.Responses = []*raftpb.Message{{}} }), "carries responses"},
		{"index beyond any run", fresh(raftpb.MessageType_MsgApp, 1, func(m *raftpb.Message) { m.Index = new(uint64(math.MaxUint64)) }), "beyond"},
		{"conf-change entry", fresh(raftpb.MessageType_MsgApp, 1, func(m *raftpb.Message) {
			m.Entries = []*raftpb.Entry{{Index: new(uint64(1)), Term: new(uint64(1)), Type: raftpb.EntryType_EntryConfChange.Enum()}}
		}), "EntryConfChange"},
		{"entry of a later term than the append", fresh(raftpb.MessageType_MsgApp, 2, func(m *raftpb.Message) { m.Entries = entries(1, 1, 3) }), "has term 3, outside [1, 2]"},
		{"entry terms falling", fresh(raftpb.MessageType_MsgApp, 2, func(m *raftpb.Message) { m.Entries = append(entries(1, 1, 2), entry(2, 1)) }), "has term 1, outside [2, 2]"},
		{"previous entry of a later term than the append", fresh(raftpb.MessageType_MsgApp, 2, func(m *raftpb.Message) { m.Index, m.LogTerm = new(uint64(1)), new(uint64(3)) }), "does not fit term 2"},
		{"snapshot of a later term than the message", fresh(raftpb.MessageType_MsgSnap, 2, func(m *raftpb.Message) {
			m.Snapshot = &raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{Index: new(uint64(5)), Term: new(uint64(3)), ConfState: &raftpb.ConfState{Voters: []uint64{1, 2, 3}}}}
		}), "snapshot term 3"},
		{"snapshot without metadata", fresh(raftpb.MessageType_MsgSnap, 1, func(m *raftpb.Message) { m.Snapshot = &raftpb.Snapshot{} }), "no snapshot metadata"},
		{"rejection hinting above its index", leading(raftpb.MessageType_MsgAppResp, func(m *raftpb.Message) {
			m.Reject, m.Index, m.RejectHint = new(true), new(uint64(1)), new(uint64(2))
		}), "hints at index 2 above the rejected 1"},
		{"second leader in the leader's term", leading(raftpb.MessageType_MsgHeartbeat, nil), "a second leader"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, m := tt.state(t)
			err := e.Step(wire(t, m))
			if !errors.Is(err, ErrInvalidRaftMessage) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Step = %v, want ErrInvalidRaftMessage with %q", err, tt.wantErr)
			}
		})
	}
}

// TestHeartbeatBeyondATruncatedLogIsRefused checks the log bound across an
// append that truncates the log before the next Ready: etcd raft's last
// index falls below what storage holds, and a heartbeat committing between
// the two would panic it.
func TestHeartbeatBeyondATruncatedLogIsRefused(t *testing.T) {
	build := func() *Engine {
		e := newEngine(t, 1, 3, 7)
		app := raftMsg(raftpb.MessageType_MsgApp, 0, 1, 1)
		app.Entries, app.Commit = entries(1, 5, 1), new(uint64(2))
		step(t, e, app)
		drain(e) // storage holds 1..5, committed 2
		return e
	}
	// A new leader (node 2, term 2) overwrites 3..5 with one entry.
	truncate := raftMsg(raftpb.MessageType_MsgApp, 2, 1, 2)
	truncate.Index, truncate.LogTerm, truncate.Entries = new(uint64(2)), new(uint64(1)), entries(3, 3, 2)
	heartbeat := raftMsg(raftpb.MessageType_MsgHeartbeat, 2, 1, 2)
	heartbeat.Commit = new(uint64(4))

	e := build()
	v := panicOf(func() {
		_ = e.rn.Step(proto.Clone(truncate).(*raftpb.Message))
		_ = e.rn.Step(proto.Clone(heartbeat).(*raftpb.Message))
	})
	if !strings.Contains(panicText(v), "tocommit(4) is out of range [lastIndex(3)]") {
		t.Fatalf("etcd raft: got panic %v, want tocommit(4) out of range", v)
	}

	e = build()
	step(t, e, truncate)
	if err := e.Step(wire(t, heartbeat)); !errors.Is(err, ErrInvalidRaftMessage) {
		t.Fatalf("heartbeat committing 4 of a log now ending at 3: Step = %v, want ErrInvalidRaftMessage", err)
	}
	// Once the Ready is out, the log is known again, and a heartbeat
	// within it is taken.
	drain(e)
	heartbeat.Commit = new(uint64(3))
	step(t, e, heartbeat)
	if got := e.rn.BasicStatus().GetCommit(); got != 3 {
		t.Fatalf("commit %d after the heartbeat, want 3", got)
	}
}

// TestHonestClusterPassesTheChecks runs a small cluster through elections
// and commits: every message an honest node sends passes the checks (the
// cluster fails the test on any refusal).
func TestHonestClusterPassesTheChecks(t *testing.T) {
	for seed := range uint64(5) {
		c := newCluster(t, 3, seed, 20, nil)
		l := c.leader()
		if l.committed.height != 20 {
			t.Fatalf("seed %d: the leader committed %d blocks, want 20", seed, l.committed.height)
		}
		for _, e := range c.engines {
			if e.committed.height != l.committed.height {
				t.Fatalf("seed %d: node %d committed %d blocks, the leader %d", seed, e.cfg.ID, e.committed.height, l.committed.height)
			}
		}
	}
}
