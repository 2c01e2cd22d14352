package raft

import (
	"fmt"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// CheckReady is the simulator's oracle for one node's Ready
// (sim.Protocol.CheckReady), given the safety state it had durably stored
// before. It checks Raft's durability rules: the term and commit index
// never fall, a node votes for at most one candidate per term, and every
// vote granted and every append acknowledged leaves only with the state
// that justifies it in the same or an earlier Ready.
func CheckReady(_ *qc.Verifier, durable []byte, rd *types.Ready) error {
	prev, err := decodeSafety(durable)
	if err != nil {
		return err
	}
	cur := prev
	if rd.SafetyState != nil {
		if cur, err = decodeSafety(rd.SafetyState); err != nil {
			return err
		}
		switch {
		case cur.Term < prev.Term:
			return fmt.Errorf("term fell from %d to %d", prev.Term, cur.Term)
		case cur.Term == prev.Term && prev.Vote != 0 && cur.Vote != prev.Vote:
			return fmt.Errorf("vote in term %d changed from %d to %d", cur.Term, prev.Vote, cur.Vote)
		case cur.Commit < prev.Commit:
			return fmt.Errorf("commit index fell from %d to %d", prev.Commit, cur.Commit)
		}
	}
	for _, m := range rd.Messages {
		rm, ok := m.Payload.(*types.RaftMessage)
		if !ok {
			continue
		}
		msg := new(raftpb.Message)
		if err := proto.Unmarshal(rm.Message, msg); err != nil {
			return fmt.Errorf("outbound raft message does not decode: %w", err)
		}
		if err := covered(cur, msg); err != nil {
			return fmt.Errorf("outbound %v: %w", msg.GetType(), err)
		}
	}
	return nil
}

func covered(st *types.RaftSafety, m *raftpb.Message) error {
	pre := m.GetType() == raftpb.MessageType_MsgPreVote || m.GetType() == raftpb.MessageType_MsgPreVoteResp
	if !pre && m.GetTerm() > st.Term {
		// A pre-vote names the term it would campaign in; anything else is
		// sent in a term this node has durably entered.
		return fmt.Errorf("sent in term %d, stored term %d", m.GetTerm(), st.Term)
	}
	switch m.GetType() {
	case raftpb.MessageType_MsgVoteResp:
		if !m.GetReject() && (st.Term != m.GetTerm() || st.Vote != m.GetTo()) {
			return fmt.Errorf("vote for %d in term %d, stored vote %d in term %d", m.GetTo(), m.GetTerm(), st.Vote, st.Term)
		}
	case raftpb.MessageType_MsgAppResp:
		last := st.SnapshotIndex
		if n := len(st.Entries); n > 0 {
			last = st.Entries[n-1].Index
		}
		if !m.GetReject() && m.GetIndex() > last {
			return fmt.Errorf("acknowledges index %d, stored log ends at %d", m.GetIndex(), last)
		}
	}
	return nil
}
