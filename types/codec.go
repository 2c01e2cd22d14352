package types

import (
	"errors"
	"fmt"
)

// ErrMessageTooLarge means an encoded message exceeds MaxMessageBytes.
var ErrMessageTooLarge = errors.New("message exceeds the size limit")

// newPayload is the one switch over the closed set of message types.
func newPayload(t MsgType) (Payload, error) {
	switch t {
	case MsgHotStuffProposal:
		return new(Proposal), nil
	case MsgHotStuffVote:
		return new(Vote), nil
	case MsgHotStuffTimeout:
		return new(Timeout), nil
	case MsgPBFTPrePrepare:
		return new(PBFTPrePrepare), nil
	case MsgPBFTVote:
		return new(PBFTVote), nil
	case MsgPBFTViewChange:
		return new(PBFTViewChange), nil
	case MsgPBFTNewView:
		return new(PBFTNewView), nil
	case MsgRaft:
		return new(RaftMessage), nil
	case MsgBlockRequest:
		return new(BlockRequest), nil
	case MsgBlockResponse:
		return new(BlockResponse), nil
	default:
		return nil, fmt.Errorf("unknown message type %d", t)
	}
}

// EncodeMessage encodes m as an Envelope.
func EncodeMessage(m Message) ([]byte, error) {
	payload, err := m.Payload.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode %v: %w", m.Payload.MsgType(), err)
	}
	env := Envelope{From: m.From, To: m.To, Broadcast: m.Broadcast, Type: m.Payload.MsgType(), Payload: payload}
	data, err := env.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode envelope: %w", err)
	}
	if len(data) > MaxMessageBytes {
		return nil, fmt.Errorf("encode %v: %d bytes: %w", env.Type, len(data), ErrMessageTooLarge)
	}
	return data, nil
}

// DecodeMessage decodes an Envelope and its payload, checks the size limit
// before decoding, runs ValidateBasic, and checks that the envelope's sender
// is the payload's signer. It never panics on any input.
func DecodeMessage(data []byte) (Message, error) {
	if len(data) > MaxMessageBytes {
		return Message{}, fmt.Errorf("decode: %d bytes: %w", len(data), ErrMessageTooLarge)
	}
	var env Envelope
	if err := env.Unmarshal(data); err != nil {
		return Message{}, fmt.Errorf("decode envelope: %w", err)
	}
	p, err := newPayload(env.Type)
	if err != nil {
		return Message{}, fmt.Errorf("decode: %w", err)
	}
	if err := prescan(env.Type, env.Payload); err != nil {
		return Message{}, fmt.Errorf("decode %v: %w", env.Type, err)
	}
	if err := p.Unmarshal(env.Payload); err != nil {
		return Message{}, fmt.Errorf("decode %v: %w", env.Type, err)
	}
	if err := p.ValidateBasic(); err != nil {
		return Message{}, fmt.Errorf("invalid %v: %w", env.Type, err)
	}
	if p.Signer() != env.From {
		return Message{}, fmt.Errorf("invalid %v: envelope sender %d is not the signer %d", env.Type, env.From, p.Signer())
	}
	return Message{From: env.From, To: env.To, Broadcast: env.Broadcast, Payload: p}, nil
}
