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
