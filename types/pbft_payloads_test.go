package types_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/types"
	"github.com/bftkit/bftkit/types/typestest"
)

// samplePBFT returns fresh copies of the sample view-change, new-view and
// committed block (a block response with its proof).
func samplePBFT(t *testing.T) (*types.PBFTViewChange, *types.PBFTNewView, *types.BlockResponse) {
	t.Helper()
	var vc *types.PBFTViewChange
	var nv *types.PBFTNewView
	var c *types.BlockResponse
	for _, s := range typestest.SampleMessages() {
		data, err := types.EncodeMessage(s.Message)
		require.NoError(t, err)
		m, err := types.DecodeMessage(data) // a deep copy
		require.NoError(t, err)
		switch p := m.Payload.(type) {
		case *types.PBFTViewChange:
			vc = p
		case *types.PBFTNewView:
			nv = p
		case *types.BlockResponse:
			if len(p.Proof) > 0 {
				c = p
			}
		}
	}
	require.NotNil(t, vc)
	return vc, nv, c
}

// Malformed PBFT messages are refused by ValidateBasic with an error that
// says what is wrong, before any signature is checked.
func TestPBFTValidateBasicRefusesMalformedMessages(t *testing.T) {
	cases := map[string]struct {
		mutate func(vc *types.PBFTViewChange, nv *types.PBFTNewView, c *types.BlockResponse) types.Payload
		want   string
	}{
		"view-change for view 0": {func(vc *types.PBFTViewChange, _ *types.PBFTNewView, _ *types.BlockResponse) types.Payload {
			vc.View = 0
			return vc
		}, "view 0"},
		"prepared at the checkpoint": {func(vc *types.PBFTViewChange, _ *types.PBFTNewView, _ *types.BlockResponse) types.Payload {
			vc.Prepared[0].Seq, vc.Prepared[0].Prepares.Seq = vc.Stable.Seq, vc.Stable.Seq
			return vc
		}, "outside"},
		"prepared twice for one seq": {func(vc *types.PBFTViewChange, _ *types.PBFTNewView, _ *types.BlockResponse) types.Payload {
			vc.Prepared = append(vc.Prepared, vc.Prepared[0])
			return vc
		}, "repeats seq"},
		"prepared in the view-change's view": {func(vc *types.PBFTViewChange, _ *types.PBFTNewView, _ *types.BlockResponse) types.Payload {
			vc.Prepared[0].View, vc.Prepared[0].Prepares.View = vc.View, vc.View
			return vc
		}, "not below"},
		"prepares for another digest": {func(vc *types.PBFTViewChange, _ *types.PBFTNewView, _ *types.BlockResponse) types.Payload {
			vc.Prepared[0].Prepares.Digest = types.BlockID{9}
			return vc
		}, "does not match"},
		"checkpoint proof of commits": {func(vc *types.PBFTViewChange, _ *types.PBFTNewView, _ *types.BlockResponse) types.Payload {
			vc.Stable.Phase, vc.Stable.View = types.PhaseCommit, 1
			return vc
		}, "stable is a"},
		"new-view with a view-change for another view": {func(_ *types.PBFTViewChange, nv *types.PBFTNewView, _ *types.BlockResponse) types.Payload {
			nv.ViewChanges[0].View = nv.View + 1
			return nv
		}, "is for view"},
		"new-view repeating a replica": {func(_ *types.PBFTViewChange, nv *types.PBFTNewView, _ *types.BlockResponse) types.Payload {
			nv.ViewChanges = append(nv.ViewChanges, nv.ViewChanges[0])
			return nv
		}, "repeats replica"},
		"new-view with a gap in O": {func(_ *types.PBFTViewChange, nv *types.PBFTNewView, _ *types.BlockResponse) types.Payload {
			o := *nv.PrePrepares[0]
			o.Seq += 2
			nv.PrePrepares = append(nv.PrePrepares, &o)
			return nv
		}, "consecutive"},
		"new-view with a zero digest": {func(_ *types.PBFTViewChange, nv *types.PBFTNewView, _ *types.BlockResponse) types.Payload {
			nv.PrePrepares[0].Digest = types.BlockID{}
			return nv
		}, "zero digest"},
		"fetch of nothing": {func(*types.PBFTViewChange, *types.PBFTNewView, *types.BlockResponse) types.Payload {
			return &types.BlockRequest{Sender: 1, BlockID: types.BlockID{1}}
		}, "blocks, want"},
		"fetch of too much": {func(*types.PBFTViewChange, *types.PBFTNewView, *types.BlockResponse) types.Payload {
			return &types.BlockRequest{Sender: 1, FromHeight: 1, Count: types.MaxBlockRequestAncestors + 1}
		}, "blocks, want"},
		"fetch by height and by ID": {func(*types.PBFTViewChange, *types.PBFTNewView, *types.BlockResponse) types.Payload {
			return &types.BlockRequest{Sender: 1, FromHeight: 1, Count: 1, BlockID: types.BlockID{1}}
		}, "both"},
		"fetch of genesis": {func(*types.PBFTViewChange, *types.PBFTNewView, *types.BlockResponse) types.Payload {
			return &types.BlockRequest{Sender: 1, Count: 1}
		}, "genesis"},
		"a height without a count": {func(*types.PBFTViewChange, *types.PBFTNewView, *types.BlockResponse) types.Payload {
			return &types.BlockRequest{Sender: 1, FromHeight: 4, BlockID: types.BlockID{1}, Ancestors: 1}
		}, "without a count"},
		"committed block with an oversized proof": {func(_ *types.PBFTViewChange, _ *types.PBFTNewView, c *types.BlockResponse) types.Payload {
			c.Proof = make([]byte, types.MaxProofBytes+1)
			return c
		}, "proof exceeds"},
	}
	for name, tc := range cases {
		vc, nv, c := samplePBFT(t)
		require.NoError(t, vc.ValidateBasic())
		require.NoError(t, nv.ValidateBasic())
		require.NoError(t, c.ValidateBasic())
		err := tc.mutate(vc, nv, c).ValidateBasic()
		require.ErrorContains(t, err, tc.want, name)
	}
}

// The codec counts a new-view's nested prepared certificates before
// decoding them, so a message of empty entries cannot allocate its way
// past the size limit.
func TestNewViewPrescanBoundsNestedCertificates(t *testing.T) {
	vc := &types.PBFTViewChange{View: 1, Replica: 0, Signature: make([]byte, 96)}
	for range types.MaxPBFTWindow {
		vc.Prepared = append(vc.Prepared, &types.PBFTPrepared{})
	}
	nv := &types.PBFTNewView{View: 1, Primary: 1, Signature: make([]byte, 96)}
	for range 70 {
		nv.ViewChanges = append(nv.ViewChanges, vc)
	}
	data, err := types.EncodeMessage(types.Message{From: 1, Payload: nv})
	require.NoError(t, err)
	_, err = types.DecodeMessage(data)
	require.ErrorContains(t, err, "view_changes.prepared")
}
