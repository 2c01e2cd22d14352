package types

import (
	"errors"
	"fmt"
)

func (*RaftMessage) MsgType() MsgType         { return MsgRaft }
func (m *RaftMessage) Signer() ValidatorIndex { return m.Sender }

// ValidateBasic checks that a Raft message carries something; the raft
// message inside is decoded and bounded by the Raft engine.
func (m *RaftMessage) ValidateBasic() error {
	if len(m.Message) == 0 {
		return errors.New("raft message: empty")
	}
	if len(m.Message) > MaxMessageBytes {
		return fmt.Errorf("raft message: %d bytes exceeds %d", len(m.Message), MaxMessageBytes)
	}
	return nil
}

func (*RaftFetch) MsgType() MsgType         { return MsgRaftFetch }
func (f *RaftFetch) Signer() ValidatorIndex { return f.Sender }

// ValidateBasic checks the range.
func (f *RaftFetch) ValidateBasic() error {
	if f.FromHeight == 0 {
		return errors.New("raft fetch: height 0 is genesis")
	}
	if f.Count == 0 || f.Count > MaxBlockRequestAncestors {
		return fmt.Errorf("raft fetch: %d blocks, want 1..%d", f.Count, MaxBlockRequestAncestors)
	}
	return nil
}
