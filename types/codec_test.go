package types_test

import (
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/crypto"
	"github.com/bftkit/bftkit/types"
	"github.com/bftkit/bftkit/types/typestest"
)

func sampleMessages(t *testing.T) []types.Message {
	var out []types.Message
	for _, s := range typestest.SampleMessages() {
		out = append(out, s.Message)
	}
	require.Equal(t, 14, len(out), "one message per type and PBFT phase")
	return out
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
		m.From = (m.Payload.Signer() + 1) % 4 // any validator but the signer
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
	tc := func(view uint64, hqv ...uint64) *types.TimeoutCert {
		signers := make([]int, len(hqv))
		for i := range signers {
			signers[i] = i
		}
		return &types.TimeoutCert{View: view, Signers: fx.Bitmap(signers...), HighQcViews: hqv, Signature: sig}
	}
	cases := []struct {
		name string
		p    types.Payload
		want string
	}{
		{"vote view 0", &types.Vote{View: 0, BlockID: types.BlockID{1}, Signature: sig}, "view 0"},
		{"vote zero id", &types.Vote{View: 1, Signature: sig}, "zero block id"},
		{"vote short sig", &types.Vote{View: 1, BlockID: types.BlockID{1}, Signature: sig[:10]}, "signature is 10 bytes"},
		{"timeout high qc ahead", &types.Timeout{View: 5, HighQc: qc, Signature: sig}, "high qc view 5 is not below"},
		{"proposal justify ahead", &types.Proposal{Block: &types.Block{Height: 1, View: 5, Justify: qc}, Signature: sig}, "justify view 5 is not below"},
		{"proposal no block", &types.Proposal{Signature: sig}, "block: missing"},
		{"tc views mismatch", &types.Proposal{Block: &types.Block{Height: 1, View: 9}, Tc: &types.TimeoutCert{View: 8, Signers: fx.Bitmap(0, 1, 2), HighQcViews: []uint64{1}, Signature: sig}, Signature: sig}, "1 high QC views for 3 signers"},
		{"tc high qc not below", &types.Proposal{Block: &types.Block{Height: 1, View: 9}, Tc: tc(8, 8), Signature: sig}, "is not below the TC's view"},
		{"tc ahead of justify", &types.Proposal{Block: &types.Block{Height: 1, View: 9, Justify: fx.QC(3, types.BlockID{1}, 0, 1, 2)}, Tc: tc(8, 3, 6, 2), Signature: sig}, "below the tc's highest qc view 6"},
		{"tc without justify", &types.Proposal{Block: &types.Block{Height: 1, View: 9}, Tc: tc(8, 0, 4, 0), Signature: sig}, "justify view 0 is below"},
		{"pre-prepare seq", &types.PBFTPrePrepare{View: 1, Seq: 2, Block: &types.Block{Height: 1, View: 1}, Signature: sig}, "seq 2 is not the block height"},
		{"pre-prepare proposer", &types.PBFTPrePrepare{View: 1, Seq: 1, Primary: 1, Block: &types.Block{Height: 1, View: 1, Proposer: 2}, Signature: sig}, "primary 1 is not the block's proposer 2"},
		{"pre-prepare justify", &types.PBFTPrePrepare{View: 1, Seq: 1, Block: &types.Block{Height: 1, View: 1, Justify: qc}, Signature: sig}, "no justify"},
		{"pbft phase", &types.PBFTVote{Phase: 7, Seq: 1, Signature: sig}, "unknown phase 7"},
		{"pbft seq 0", &types.PBFTVote{Phase: types.PhasePrepare, Signature: sig}, "seq 0"},
		{"pbft checkpoint view", &types.PBFTVote{Phase: types.PhaseCheckpoint, View: 1, Seq: 1, Signature: sig}, "checkpoint carries no view"},
	}
	for _, tc := range cases {
		require.ErrorContains(t, tc.p.ValidateBasic(), tc.want, tc.name)
	}
	ok := &types.Proposal{Block: &types.Block{Height: 1, View: 9, Justify: fx.QC(6, types.BlockID{1}, 0, 1, 2)}, Tc: tc(8, 3, 6, 2), Signature: sig}
	require.NoError(t, ok.ValidateBasic(), "a proposal extending the TC's highest QC")
	var nilQC *types.QuorumCert
	var nilTC *types.TimeoutCert
	var nilCert *types.PBFTCert
	require.Error(t, nilQC.ValidateBasic())
	require.Error(t, nilTC.ValidateBasic())
	require.Error(t, nilCert.ValidateBasic())
}

// A message of many tiny repeated elements must be refused on its raw bytes,
// before the decoder allocates per element (~65x the message size).
func TestDecodeRefusesTooManyRepeatedElementsBeforeAllocating(t *testing.T) {
	const txs = 2_000_000 // 4 MB on the wire: tag + zero length each
	block := make([]byte, 0, 2*txs+16)
	block = append(block, 0x08, 0x01) // height 1
	for range txs {
		block = append(block, 0x32, 0x00) // field 6 (txs), empty
	}
	proposal := append([]byte{0x0a}, binary.AppendUvarint(nil, uint64(len(block)))...)
	proposal = append(proposal, block...)
	env, err := (&types.Envelope{Type: types.MsgHotStuffProposal, Payload: proposal}).Marshal()
	require.NoError(t, err)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = types.DecodeMessage(env)
	runtime.ReadMemStats(&after)
	require.ErrorContains(t, err, "block.txs: 2000000 elements exceed the limit of 20000")
	allocated := after.TotalAlloc - before.TotalAlloc
	// The envelope decoder copies the payload once; without the pre-scan
	// the per-element allocations cost about 65 times the message.
	require.Less(t, allocated, 2*uint64(len(env)), "decoding allocated %d bytes for a %d-byte message", allocated, len(env))

	// Packed views of a TC are counted per varint.
	views := make([]byte, 0, types.MaxValidators+2)
	for range types.MaxValidators + 1 {
		views = append(views, 0x01)
	}
	tc := append([]byte{0x1a}, binary.AppendUvarint(nil, uint64(len(views)))...)
	tc = append(tc, views...)
	withTC := append([]byte{0x12}, binary.AppendUvarint(nil, uint64(len(tc)))...)
	withTC = append(withTC, tc...)
	env, err = (&types.Envelope{Type: types.MsgHotStuffProposal, Payload: withTC}).Marshal()
	require.NoError(t, err)
	_, err = types.DecodeMessage(env)
	require.ErrorContains(t, err, "tc.high_qc_views: 1025 elements exceed the limit of 1024")
}

// Blocks at the limit still decode: the pre-scan counts elements, not bytes.
func TestDecodeAcceptsABlockAtTheTxLimit(t *testing.T) {
	b := typestest.Block(1, types.MaxBlockTxs, 4)
	b.Proposer = 1
	m := types.Message{From: 1, Broadcast: true, Payload: &types.Proposal{Block: b, Signature: make([]byte, crypto.SignatureSize)}}
	data, err := types.EncodeMessage(m)
	require.NoError(t, err)
	got, err := types.DecodeMessage(data)
	require.NoError(t, err)
	require.Len(t, got.Payload.(*types.Proposal).Block.Txs, types.MaxBlockTxs)
}
