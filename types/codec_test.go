package types_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/crypto"
	"github.com/bftkit/bftkit/types"
	"github.com/bftkit/bftkit/types/typestest"
)

func sampleMessages(t *testing.T) []types.Message {
	fx := typestest.Validators(4, 1)
	sig := crypto.Sign(fx.Keys[1], []byte("any")).Bytes()
	block := typestest.Block(3, 5, 20)
	block.Proposer = 1
	block.Justify = fx.QC(2, types.BlockID{7}, 0, 1, 2)
	return []types.Message{
		{From: 1, Broadcast: true, Payload: &types.Proposal{Block: block, Tc: fx.TC(2, []int{0, 2, 3}, []uint64{1, 1, 0}), Signature: sig}},
		{From: 1, To: 2, Payload: &types.Vote{View: 3, BlockID: block.ID(), Voter: 1, Signature: sig}},
		{From: 1, Broadcast: true, Payload: &types.Timeout{View: 3, Sender: 1, HighQc: block.Justify, Signature: sig}},
		{From: 1, Broadcast: true, Payload: &types.PBFTPrePrepare{View: 3, Seq: 3, Block: block, Primary: 1, Signature: sig}},
		{From: 1, Broadcast: true, Payload: &types.PBFTVote{Phase: types.PhaseCommit, View: 3, Seq: 3, Digest: block.ID(), Replica: 1, Signature: sig}},
	}
}

func TestCodecRoundTripsEveryMessageType(t *testing.T) {
	for _, m := range sampleMessages(t) {
		data, err := types.EncodeMessage(m)
		require.NoError(t, err, m.Payload.MsgType())
		got, err := types.DecodeMessage(data)
		require.NoError(t, err, m.Payload.MsgType())
		require.Equal(t, m.From, got.From)
		require.Equal(t, m.To, got.To)
		require.Equal(t, m.Broadcast, got.Broadcast)
		require.Equal(t, m.Payload.MsgType(), got.Payload.MsgType())
		require.Equal(t, m.Payload.String(), got.Payload.String())
	}
}

// The envelope's sender must be the payload's signer: a relay (or an
// attacker) cannot pass another validator's message off as its own.
func TestDecodeRejectsSpoofedSender(t *testing.T) {
	for _, m := range sampleMessages(t) {
		m.From = 3
		data, err := types.EncodeMessage(m)
		require.NoError(t, err)
		_, err = types.DecodeMessage(data)
		require.ErrorContains(t, err, "is not the signer", m.Payload.MsgType())
	}
}

func TestDecodeRejectsMalformedInput(t *testing.T) {
	_, err := types.DecodeMessage([]byte{0xff, 0xff, 0xff})
	require.Error(t, err)
	unknown, err := (&types.Envelope{Type: 99, Payload: []byte{}}).Marshal()
	require.NoError(t, err)
	_, err = types.DecodeMessage(unknown)
	require.ErrorContains(t, err, "unknown message type")
	_, err = types.DecodeMessage(make([]byte, types.MaxMessageBytes+1))
	require.ErrorIs(t, err, types.ErrMessageTooLarge)

	shortID, err := (&types.Envelope{Type: types.MsgHotStuffVote, Payload: []byte{0x12, 0x03, 1, 2, 3}}).Marshal()
	require.NoError(t, err)
	_, err = types.DecodeMessage(shortID)
	require.ErrorContains(t, err, "block id: got 3 bytes")
}

func TestValidateBasicRejectsBadShapes(t *testing.T) {
	fx := typestest.Validators(4, 1)
	sig := make([]byte, crypto.SignatureSize)
	qc := fx.QC(5, types.BlockID{1}, 0, 1, 2)
	cases := map[string]types.Payload{
		"vote view 0":            &types.Vote{View: 0, BlockID: types.BlockID{1}, Signature: sig},
		"vote zero id":           &types.Vote{View: 1, Signature: sig},
		"vote short sig":         &types.Vote{View: 1, BlockID: types.BlockID{1}, Signature: sig[:10]},
		"timeout high qc ahead":  &types.Timeout{View: 5, HighQc: qc, Signature: sig},
		"proposal justify ahead": &types.Proposal{Block: &types.Block{Height: 1, View: 5, Justify: qc}, Signature: sig},
		"proposal no block":      &types.Proposal{Signature: sig},
		"tc views mismatch":      &types.Proposal{Block: &types.Block{Height: 1, View: 9}, Tc: &types.TimeoutCert{View: 8, Signers: fx.Bitmap(0, 1, 2), HighQcViews: []uint64{1}, Signature: sig}, Signature: sig},
		"tc high qc not below":   &types.Proposal{Block: &types.Block{Height: 1, View: 9}, Tc: &types.TimeoutCert{View: 8, Signers: fx.Bitmap(0), HighQcViews: []uint64{8}, Signature: sig}, Signature: sig},
		"pre-prepare seq":        &types.PBFTPrePrepare{View: 1, Seq: 2, Block: &types.Block{Height: 1, View: 1}, Signature: sig},
		"pbft phase":             &types.PBFTVote{Phase: 7, Seq: 1, Signature: sig},
		"pbft checkpoint view":   &types.PBFTVote{Phase: types.PhaseCheckpoint, View: 1, Seq: 1, Signature: sig},
	}
	for name, p := range cases {
		require.Error(t, p.ValidateBasic(), name)
	}
}
