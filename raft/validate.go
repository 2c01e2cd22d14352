package raft

import (
	"errors"
	"fmt"
	"slices"

	etcdraft "go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/bftkit/bftkit/types"
)

// What may reach etcd raft from the network.
//
// Raft is crash-fault: peers are trusted not to lie. But etcd raft panics on
// input that contradicts its own log or that only a local caller may give
// it, and a peer with a bug, a corrupted message or one from another cluster
// must cost an error, not this validator. So checkMessage refuses, before
// RawNode.Step, every raft message that can make etcd raft (v3.7.0, as
// pinned in determinism.go) panic, and a few more that no peer running this
// adapter sends. Each case names the panic it prevents; the unit tests show
// the panic on etcd raft directly and the error from Step:
//
//   - Types. Only what this adapter's peers send: MsgApp, MsgAppResp,
//     MsgVote, MsgVoteResp, MsgPreVote, MsgPreVoteResp, MsgSnap,
//     MsgHeartbeat, MsgHeartbeatResp. The local types (MsgHup, MsgBeat,
//     MsgUnreachable, MsgSnapStatus, MsgCheckQuorum, MsgStorage*) are
//     refused by RawNode.Step too. MsgProp, MsgReadIndex and
//     MsgTransferLeader are term-less requests that a follower forwards to
//     its leader as they are: with a term set (and without one, the next
//     check refuses them), send() panics ("term should not be set"); an
//     empty MsgProp panics a leader ("stepped empty MsgProp"), and
//     conf-change entries would reconfigure the cluster. The
//     adapter proposes only through Propose, never reads by index, never
//     transfers or forgets leadership, so MsgReadIndexResp, MsgTimeoutNow
//     and MsgForgetLeader are refused as well, and so is any unknown type.
//   - Term at least 1. Term 0 marks a local message: etcd raft skips its
//     term handling, and answers a term-0 vote with a term-0 response, which
//     panics in send() ("term should be set"); a term-0 append would move a
//     candidate to term 0.
//   - Terms and indices at most maxRaftNumber, so that etcd raft's
//     Term+1 (campaigns) and Index+1 (appends) never wrap to 0: a node
//     moved to term 2⁶⁴−1 panics in send() at its next campaign.
//   - No Context (it carries ReadIndex acknowledgements, which this adapter
//     never asks for, and leadership transfers: a heartbeat response with a
//     context shorter than 8 bytes panics a leader in readOnly.recvAck, and
//     acknowledgements of reads never requested can run readOnly.maybeAdvance
//     past its queue), no Responses (local storage messages only), entries
//     only on MsgApp, a snapshot only on MsgSnap.
//   - MsgApp: entries numbered Index+1, Index+2, … with terms that never
//     fall, from LogTerm (at least 1 beyond index 0) up to the message's
//     term, and no conf-change entries. raftLog.findConflict assumes the
//     numbering: without it maybeAppend panics ("index, %d, is out of
//     range", or "entry %d conflict with committed entry" for an entry at or
//     below the commit index). Its Commit cannot panic: etcd raft commits
//     only up to the last entry the message itself matched.
//   - MsgHeartbeat: Commit within this node's log. handleHeartbeat commits
//     it as it is, and raftLog.commitTo panics beyond the last index
//     ("tocommit(%d) is out of range").
//   - MsgSnap: a snapshot with metadata, index at least 1, term from 1 to
//     the message's, data that names a block, and a ConfState that is
//     exactly this validator set as voters (another shape, say a voter
//     that is also a learner or listed twice, panics in restore: "ConfStates
//     not equivalent after sorting", or "unable to restore config" when
//     confchange.Restore fails).
//   - MsgApp, MsgHeartbeat and MsgSnap in this node's term while it leads:
//     refused (two leaders in one term; etcd raft would ignore them).
//   - MsgAppResp at the leader of its term: a positive acknowledgement only
//     of an index in the leader's log. Beyond it, the leader would probe
//     from an index it does not have and fall back to a snapshot, which
//     panics before the first compaction ("need non-empty snapshot").
//     A rejection's hint is at most its index.
//
// Why nothing else can panic: a message of a lower term is ignored or
// answered with the term (raft.Step). Votes and pre-votes only compare the
// candidate's last (term, index) with this log (isUpToDate) and are
// counted per known voter (RawNode.Step refuses responses from unknown
// ids). An append whose previous entry does not match, or lies below the
// commit index, is answered with a rejection or the commit index, and
// findConflictByTerm stops at the log's bounds. A rejection lowers the
// peer's progress, never below Match+1 (tracker.Progress.MaybeDecrTo), so
// the leader probes within its log or, below its first index, sends the
// snapshot that compaction made. A heartbeat response without context only
// marks the peer active and sends an append from its progress, which the
// checked acknowledgements keep within the log. etcd raft's remaining
// panics are broken invariants of this adapter (storage errors,
// Ready/Advance misuse), not input, and are left to panic.
//
// The log bound. etcd raft's last index is not public, and it moves with
// every append stepped before the next Ready. Engine.lastFloor is a lower
// bound of it: exact after each Ready (storage then holds the whole log),
// and lowered by every append or snapshot stepped since, to the point up to
// which etcd raft's log still agrees with the mirror (e.log): an append that
// conflicts with the mirror at index i truncates there and leaves i−1 and
// below alone; a snapshot that does not match the mirror at its index
// replaces the log by its index. Appends that extend the log do not raise
// it. An honest peer never sends beyond it: a leader's heartbeat commits at
// most what this node acknowledged in the leader's term (etcd raft sends
// min(Match, committed), and Match restarts at 0 in each term), which was
// in storage when the acknowledgement left, and which that leader never
// truncates; a follower acknowledges at most what this leader sent, which
// was in storage when it left, and a leader's log only grows in its term.
// The checks also take the commit index as a bound, which etcd raft's log
// always reaches. The bound is conservative: a heartbeat that commits
// entries appended since the last Ready could be taken by etcd raft, but no
// honest leader sends one (this node has not acknowledged them yet), and
// the seeded simulator runs, with replayed and duplicated messages, refuse
// no honest message.

// ErrInvalidRaftMessage is Step's error for a raft message that etcd raft
// must not see: malformed, inconsistent with this node's log, or a type
// this adapter's peers never send.
var ErrInvalidRaftMessage = errors.New("raft: invalid raft message")

// maxRaftNumber bounds terms and indices from the network, far beyond any
// that a run reaches (one election per tick), so that etcd raft's +1 never
// wraps.
const maxRaftNumber = 1 << 62

func invalid(m *raftpb.Message, format string, args ...any) error {
	return fmt.Errorf("%w: %v from %d: %s", ErrInvalidRaftMessage, m.GetType(), m.GetFrom(), fmt.Sprintf(format, args...))
}

// checkMessage refuses a raft message from a peer that could make etcd raft
// panic, or that no peer of this adapter sends (see above). From and To
// were checked by the caller.
func (e *Engine) checkMessage(m *raftpb.Message, st etcdraft.BasicStatus) error {
	switch t := m.GetType(); t {
	case raftpb.MessageType_MsgApp, raftpb.MessageType_MsgAppResp,
		raftpb.MessageType_MsgVote, raftpb.MessageType_MsgVoteResp,
		raftpb.MessageType_MsgPreVote, raftpb.MessageType_MsgPreVoteResp,
		raftpb.MessageType_MsgSnap, raftpb.MessageType_MsgHeartbeat, raftpb.MessageType_MsgHeartbeatResp:
	default:
		if etcdraft.IsLocalMsg(t) {
			return invalid(m, "the type is local to a node")
		}
		return invalid(m, "not a type this adapter's peers send")
	}
	switch {
	case m.GetTerm() == 0:
		return invalid(m, "term 0 (marks a local message)")
	case m.GetTerm() > maxRaftNumber || m.GetLogTerm() > maxRaftNumber:
		return invalid(m, "term %d, log term %d beyond %d", m.GetTerm(), m.GetLogTerm(), uint64(maxRaftNumber))
	case m.GetIndex() > maxRaftNumber || m.GetCommit() > maxRaftNumber || m.GetRejectHint() > maxRaftNumber:
		return invalid(m, "index %d, commit %d, reject hint %d beyond %d", m.GetIndex(), m.GetCommit(), m.GetRejectHint(), uint64(maxRaftNumber))
	case len(m.GetContext()) > 0:
		return invalid(m, "carries a context (read-index and leadership-transfer data, which this adapter never uses)")
	case len(m.GetResponses()) > 0:
		return invalid(m, "carries responses (local storage messages only)")
	case len(m.GetEntries()) > 0 && m.GetType() != raftpb.MessageType_MsgApp:
		return invalid(m, "carries entries")
	case m.Snapshot != nil && m.GetType() != raftpb.MessageType_MsgSnap:
		return invalid(m, "carries a snapshot")
	}
	term, committed := st.GetTerm(), st.GetCommit()
	leading := st.RaftState == etcdraft.StateLeader
	floor := max(e.lastFloor, committed)
	switch m.GetType() {
	case raftpb.MessageType_MsgApp:
		if err := checkAppend(m); err != nil {
			return err
		}
	case raftpb.MessageType_MsgSnap:
		if err := e.checkSnapshot(m); err != nil {
			return err
		}
	case raftpb.MessageType_MsgHeartbeat:
		if m.GetTerm() >= term && m.GetCommit() > floor {
			return invalid(m, "commits index %d beyond this node's log (which reaches at least %d)", m.GetCommit(), floor)
		}
	case raftpb.MessageType_MsgAppResp:
		if m.GetReject() && m.GetRejectHint() > m.GetIndex() {
			return invalid(m, "rejection hints at index %d above the rejected %d", m.GetRejectHint(), m.GetIndex())
		}
		if !m.GetReject() && leading && m.GetTerm() == term && m.GetIndex() > floor {
			return invalid(m, "acknowledges index %d beyond this leader's log (which reaches at least %d)", m.GetIndex(), floor)
		}
	}
	switch m.GetType() {
	case raftpb.MessageType_MsgApp, raftpb.MessageType_MsgHeartbeat, raftpb.MessageType_MsgSnap:
		if leading && m.GetTerm() == term {
			return invalid(m, "a second leader in term %d, which this node leads", term)
		}
	}
	return nil
}

// checkAppend checks an append's entries: numbered on from its Index, normal,
// with terms that never fall, from its LogTerm up to its term.
func checkAppend(m *raftpb.Message) error {
	ents := m.GetEntries()
	if m.GetIndex()+uint64(len(ents)) > maxRaftNumber {
		return invalid(m, "%d entries after index %d reach beyond %d", len(ents), m.GetIndex(), uint64(maxRaftNumber))
	}
	if m.GetLogTerm() > m.GetTerm() || (m.GetIndex() > 0 && m.GetLogTerm() == 0) {
		return invalid(m, "previous entry (index %d, term %d) does not fit term %d", m.GetIndex(), m.GetLogTerm(), m.GetTerm())
	}
	prev := max(m.GetLogTerm(), 1)
	for i, ent := range ents {
		switch {
		case ent.GetIndex() != m.GetIndex()+1+uint64(i):
			return invalid(m, "entry %d has index %d, want %d (entries follow index %d in order)", i, ent.GetIndex(), m.GetIndex()+1+uint64(i), m.GetIndex())
		case ent.GetType() != raftpb.EntryType_EntryNormal:
			return invalid(m, "entry %d is a %v (this adapter never changes the configuration)", ent.GetIndex(), ent.GetType())
		case ent.GetTerm() < prev || ent.GetTerm() > m.GetTerm():
			return invalid(m, "entry %d has term %d, outside [%d, %d] (terms never fall along a log, and never exceed the leader's)", ent.GetIndex(), ent.GetTerm(), prev, m.GetTerm())
		}
		prev = ent.GetTerm()
	}
	return nil
}

// checkSnapshot refuses a snapshot this package could not have made: its
// metadata must be complete, its data must name a block, and its
// configuration must be the validator set as voters, nothing else.
func (e *Engine) checkSnapshot(m *raftpb.Message) error {
	snap := m.GetSnapshot()
	md := snap.GetMetadata()
	switch {
	case snap == nil || md == nil || md.GetConfState() == nil:
		return invalid(m, "no snapshot metadata")
	case md.GetIndex() == 0 || md.GetIndex() > maxRaftNumber:
		return invalid(m, "snapshot index %d outside [1, %d]", md.GetIndex(), uint64(maxRaftNumber))
	case md.GetTerm() == 0 || md.GetTerm() > m.GetTerm():
		return invalid(m, "snapshot term %d outside [1, %d]", md.GetTerm(), m.GetTerm())
	}
	var p types.RaftEntry
	if err := p.Unmarshal(snap.GetData()); err != nil {
		return invalid(m, "snapshot data: %v", err)
	}
	cs, want := md.GetConfState(), e.confState()
	if !slices.Equal(cs.GetVoters(), want.GetVoters()) || len(cs.GetLearners()) > 0 || len(cs.GetVotersOutgoing()) > 0 ||
		len(cs.GetLearnersNext()) > 0 || cs.GetAutoLeave() {
		return invalid(m, "snapshot configuration %v, want voters %v and nothing else", cs, want.GetVoters())
	}
	return nil
}

// storedLastIndex is the last index in storage, which is etcd raft's whole
// log right after a Ready.
func (e *Engine) storedLastIndex() uint64 {
	i, _ := e.ms.LastIndex() // MemoryStorage never fails
	return i
}

// mirrorTerm is the term of entry i in the mirror of the log, if the mirror
// holds it.
func (e *Engine) mirrorTerm(i uint64) (uint64, bool) {
	if i == e.snap.index {
		return e.snap.term, true
	}
	if n := len(e.log); n > 0 && i >= e.log[0].index && i-e.log[0].index < uint64(n) {
		if le := e.log[i-e.log[0].index]; le.index == i {
			return le.term, true
		}
	}
	return 0, false
}

// lowerFloor keeps lastFloor a lower bound of etcd raft's last index across
// an append or snapshot about to be stepped (see above), assuming etcd raft
// takes it, given etcd raft's status before it. Messages of a lower term
// are ignored by etcd raft.
func (e *Engine) lowerFloor(m *raftpb.Message, st etcdraft.BasicStatus) {
	if m.GetTerm() < st.GetTerm() {
		return
	}
	committed := st.GetCommit()
	switch m.GetType() {
	case raftpb.MessageType_MsgApp:
		if m.GetIndex() < committed {
			return // answered with the commit index, the log untouched
		}
		for _, ent := range m.GetEntries() {
			i := ent.GetIndex()
			if i > e.lastFloor {
				return
			}
			if t, ok := e.mirrorTerm(i); !ok || t != ent.GetTerm() {
				e.lastFloor = i - 1 // truncated from i at most
				return
			}
		}
	case raftpb.MessageType_MsgSnap:
		md := m.GetSnapshot().GetMetadata()
		i := md.GetIndex()
		if i <= committed || i > e.lastFloor {
			return
		}
		if t, ok := e.mirrorTerm(i); ok && t == md.GetTerm() {
			return // matches the log: etcd raft only commits up to it
		}
		e.lastFloor = i // the log is replaced by the snapshot
	}
}
