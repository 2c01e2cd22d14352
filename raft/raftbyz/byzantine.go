package raftbyz

import (
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/types"
)

// Behaviours are the Byzantine decorators the Raft mode can run. Raft is
// crash-fault: it is not meant to survive them, and the comparison test
// shows it does not.
var Behaviours = protocol.Catalogue{
	"equivocate": newEquivocate,
}

// newEquivocate: as leader, send the odd-numbered followers a different
// block in every append than the even-numbered ones get. Raft
// acknowledges appends by index and term only, so both halves commit
// their own block.
func newEquivocate(e protocol.Engine, env protocol.Env) protocol.Engine {
	return &protocol.Rewriter{Engine: e, Env: env, Rewrite: func(m types.Message) []types.Message {
		rm, ok := m.Payload.(*types.RaftMessage)
		if !ok || m.To%2 == 0 {
			return []types.Message{m}
		}
		msg := new(raftpb.Message)
		if proto.Unmarshal(rm.Message, msg) != nil || msg.GetType() != raftpb.MessageType_MsgApp {
			return []types.Message{m}
		}
		for _, ent := range msg.GetEntries() {
			ent.Data = twin(ent.GetData())
		}
		data, err := proto.Marshal(msg)
		if err != nil {
			return []types.Message{m}
		}
		return []types.Message{{From: m.From, To: m.To, Payload: &types.RaftMessage{Sender: rm.Sender, Message: data}}}
	}}
}

// twin is another block at the same height: the same block with a marker
// in its parent app hash.
func twin(data []byte) []byte {
	b := new(types.Block)
	if len(data) == 0 || b.Unmarshal(data) != nil {
		return data
	}
	b.ParentAppHash = []byte{0xee}
	out, err := b.Marshal()
	if err != nil {
		return data
	}
	return out
}
