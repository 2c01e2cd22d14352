package raft

import (
	"fmt"

	"github.com/bftkit/bftkit/types"
)

// VerifyMessage is the gateway check for the Raft mode: Raft is crash-fault
// and signs nothing, so it only admits the message types the mode uses
// (the transport has authenticated the sender, and the codec bound the
// envelope to it).
func VerifyMessage(m types.Message) error {
	switch m.Payload.(type) {
	case *types.RaftMessage, *types.BlockRequest, *types.BlockResponse:
		return nil
	}
	return fmt.Errorf("raft: %v is not a Raft message", m.Payload.MsgType())
}
