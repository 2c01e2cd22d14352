package qc_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/crypto"
	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
	"github.com/bftkit/bftkit/types/typestest"
)

// The fuzz targets here verify arbitrary certificates against the
// 4-validator fixture. The fuzzer cannot forge BLS signatures, so any
// certificate that verifies must be one of the honest certificates it was
// seeded with (or, for PBFT, a quorum subset of one: its signatures are
// individual). The honest certificates come from
// typestest, which internal/tools/fuzzcorpus also writes into testdata/fuzz.

func fuzzFixture() (*typestest.Fixture, *qc.Verifier) {
	fx := typestest.Validators(4, 1)
	return fx, qc.NewVerifier(typestest.ChainID, fx.Set)
}

func fuzzMarshal(f *testing.F, m interface{ Marshal() ([]byte, error) }) []byte {
	data, err := m.Marshal()
	require.NoError(f, err)
	return data
}

// fuzzInfinitySig is the compressed identity signature.
func fuzzInfinitySig() []byte {
	b := make([]byte, crypto.SignatureSize)
	b[0] = 0xc0
	return b
}

func FuzzVerifyQC(f *testing.F) {
	fx, v := fuzzFixture()
	honest := fx.HonestQCs()
	for _, h := range honest {
		f.Add(fuzzMarshal(f, h))
	}
	h := honest[0]
	bad := []*types.QuorumCert{
		fx.QC(1, typestest.SampleBlockID(1), 0, 1),                                                   // below quorum
		{View: 2, BlockID: h.BlockID, Signers: h.Signers, Signature: h.Signature},                    // another view
		{View: 1, BlockID: typestest.SampleBlockID(2), Signers: h.Signers, Signature: h.Signature},   // another block
		{View: 1, BlockID: h.BlockID, Signers: fx.Bitmap(1, 2, 3), Signature: h.Signature},           // other signers
		{View: 1, BlockID: h.BlockID, Signers: types.Bitmap{0x07, 0x00}, Signature: h.Signature},     // bitmap too long
		{View: 1, BlockID: h.BlockID, Signers: types.Bitmap{0x17}, Signature: h.Signature},           // non-member bit
		{View: 1, BlockID: h.BlockID, Signers: h.Signers, Signature: h.Signature[:95]},               // short signature
		{View: 1, BlockID: h.BlockID, Signers: h.Signers, Signature: fuzzInfinitySig()},              // identity
		{View: 1, BlockID: h.BlockID, Signers: h.Signers, Signature: bytes.Repeat([]byte{0xff}, 96)}, // not a point
		{View: 1, BlockID: h.BlockID, Signers: h.Signers,
			Signature: fx.Sign(types.VoteSignBytes("other-chain", 1, h.BlockID), 0, 1, 2).Bytes()}, // other chain
		{View: 1, BlockID: h.BlockID, Signers: h.Signers,
			Signature: fx.Sign(types.ProposalSignBytes(typestest.ChainID, 1, h.BlockID), 0, 1, 2).Bytes()}, // other domain
	}
	for _, b := range bad {
		f.Add(fuzzMarshal(f, b))
	}
	good := fuzzMarshal(f, h)
	f.Add(good[:len(good)-1])
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, data []byte) {
		var c types.QuorumCert
		if err := c.Unmarshal(data); err != nil {
			return
		}
		if err := v.VerifyQC(&c); err != nil {
			return
		}
		signers := types.Bitmap(c.Signers)
		require.NoError(t, signers.ValidateFor(fx.Set.N()))
		require.GreaterOrEqual(t, signers.Count(), fx.Set.Quorum())
		// The signature is the honest aggregate of exactly those signers.
		sig, err := crypto.SignatureFromBytes(c.Signature)
		require.NoError(t, err)
		want := fx.Sign(types.VoteSignBytes(typestest.ChainID, c.View, c.BlockID), fuzzInts(signers.Indices())...)
		require.True(t, want.Equal(sig), "verified QC is not the honest aggregate of its signers")
		require.True(t, slices.ContainsFunc(honest, func(h *types.QuorumCert) bool {
			return h.View == c.View && h.BlockID == c.BlockID && bytes.Equal(h.Signers, c.Signers)
		}), "verified QC %v is not one of the honest seeds", &c)
		// It is bound to the chain.
		require.Error(t, qc.NewVerifier("other-chain", fx.Set).VerifyQC(&c))
	})
}

func FuzzVerifyTC(f *testing.F) {
	fx, v := fuzzFixture()
	honest := fx.HonestTCs()
	for _, h := range honest {
		f.Add(fuzzMarshal(f, h))
	}
	h := honest[1] // view 6, signers 0..3, high QC views 5,3,5,0
	with := func(mod func(*types.TimeoutCert)) *types.TimeoutCert {
		c := &types.TimeoutCert{View: h.View, Signers: slices.Clone(h.Signers), HighQcViews: slices.Clone(h.HighQcViews), Signature: slices.Clone(h.Signature)}
		mod(c)
		return c
	}
	bad := []*types.TimeoutCert{
		fx.TC(5, []int{0, 1}, []uint64{4, 4}), // below quorum
		with(func(c *types.TimeoutCert) { c.HighQcViews[0], c.HighQcViews[1] = c.HighQcViews[1], c.HighQcViews[0] }), // views swapped
		with(func(c *types.TimeoutCert) { c.HighQcViews = c.HighQcViews[:3] }),                                       // count mismatch
		with(func(c *types.TimeoutCert) { c.HighQcViews[3] = 6 }),                                                    // not below the view
		with(func(c *types.TimeoutCert) { c.View = 7 }),                                                              // another view
		with(func(c *types.TimeoutCert) { c.Signers, c.HighQcViews = types.Bitmap{0x1f}, append(c.HighQcViews, 0) }), // non-member bit
		with(func(c *types.TimeoutCert) { c.Signature = fuzzInfinitySig() }),                                         // identity
		with(func(c *types.TimeoutCert) { c.Signature = c.Signature[1:] }),                                           // short signature
		with(func(c *types.TimeoutCert) { // other chain
			sigs := make([]crypto.Signature, 4)
			for k := range sigs {
				sigs[k] = crypto.Sign(fx.Keys[k], types.TimeoutSignBytes("other-chain", c.View, c.HighQcViews[k]))
			}
			agg, _ := crypto.AggregateSignatures(sigs)
			c.Signature = agg.Bytes()
		}),
	}
	for _, b := range bad {
		f.Add(fuzzMarshal(f, b))
	}
	good := fuzzMarshal(f, h)
	f.Add(good[:len(good)-1])
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, data []byte) {
		var c types.TimeoutCert
		if err := c.Unmarshal(data); err != nil {
			return
		}
		if err := v.VerifyTC(&c); err != nil {
			return
		}
		signers := types.Bitmap(c.Signers)
		require.NoError(t, signers.ValidateFor(fx.Set.N()))
		require.GreaterOrEqual(t, signers.Count(), fx.Set.Quorum())
		require.Len(t, c.HighQcViews, signers.Count())
		for _, hqv := range c.HighQcViews {
			require.Less(t, hqv, c.View)
		}
		sig, err := crypto.SignatureFromBytes(c.Signature)
		require.NoError(t, err)
		want, err := crypto.SignatureFromBytes(fx.TC(c.View, fuzzInts(signers.Indices()), c.HighQcViews).Signature)
		require.NoError(t, err)
		require.True(t, want.Equal(sig), "verified TC is not the honest aggregate of its signers")
		require.True(t, slices.ContainsFunc(honest, func(h *types.TimeoutCert) bool {
			return h.View == c.View && bytes.Equal(h.Signers, c.Signers) && slices.Equal(h.HighQcViews, c.HighQcViews)
		}), "verified TC %v is not one of the honest seeds", &c)
		require.Error(t, qc.NewVerifier("other-chain", fx.Set).VerifyTC(&c))
	})
}

func FuzzVerifyPBFTCert(f *testing.F) {
	fx, v := fuzzFixture()
	honest := fx.HonestPBFTCerts()
	for _, h := range honest {
		f.Add(fuzzMarshal(f, h))
	}
	h := honest[0] // prepare, view 1, seq 1, signers 0, 1, 2
	with := func(mod func(*types.PBFTCert)) *types.PBFTCert {
		c := &types.PBFTCert{Phase: h.Phase, View: h.View, Seq: h.Seq, Digest: h.Digest,
			Signers: slices.Clone(h.Signers), Signatures: slices.Clone(h.Signatures)}
		mod(c)
		return c
	}
	bad := []*types.PBFTCert{
		fx.PBFTCert(types.PhasePrepare, 1, 1, typestest.SampleBlockID(1), 0, 1), // below quorum
		fx.PBFTCert(types.PhasePrepare, 1, 1, typestest.SampleBlockID(1), 0, 0, 1),
		with(func(c *types.PBFTCert) { c.Signers[2] = 0 }),                                                    // duplicate signer
		with(func(c *types.PBFTCert) { c.Signers[2] = 4 }),                                                    // non-member
		with(func(c *types.PBFTCert) { c.Phase = types.PhaseCommit }),                                         // another phase
		with(func(c *types.PBFTCert) { c.Phase = types.PhaseUnknown }),                                        // no phase
		with(func(c *types.PBFTCert) { c.Phase = 7 }),                                                         // unknown phase
		with(func(c *types.PBFTCert) { c.Seq = 2 }),                                                           // another seq
		with(func(c *types.PBFTCert) { c.Signatures[0], c.Signatures[1] = c.Signatures[1], c.Signatures[0] }), // swapped
		with(func(c *types.PBFTCert) { c.Signatures = c.Signatures[:2] }),                                     // count mismatch
		with(func(c *types.PBFTCert) { c.Signatures[1] = fuzzInfinitySig() }),                                 // identity
		with(func(c *types.PBFTCert) { c.Signatures[1] = c.Signatures[1][:95] }),                              // short signature
	}
	for _, b := range bad {
		f.Add(fuzzMarshal(f, b))
	}
	good := fuzzMarshal(f, h)
	f.Add(good[:len(good)-1])
	f.Add([]byte{})

	threshold := fx.Set.Quorum()
	f.Fuzz(func(t *testing.T, data []byte) {
		var c types.PBFTCert
		if err := c.Unmarshal(data); err != nil {
			return
		}
		if err := v.VerifyPBFTCert(&c, threshold); err != nil {
			return
		}
		require.GreaterOrEqual(t, len(c.Signers), threshold)
		require.Len(t, c.Signatures, len(c.Signers))
		seen := types.NewBitmap(fx.Set.N())
		msg := types.PBFTVoteSignBytes(typestest.ChainID, c.Phase, c.View, c.Seq, c.Digest)
		for k, s := range c.Signers {
			require.True(t, fx.Set.Contains(s))
			require.False(t, seen.Has(s), "signer %d counted twice", s)
			seen.Set(s)
			sig, err := crypto.SignatureFromBytes(c.Signatures[k])
			require.NoError(t, err)
			require.True(t, crypto.Sign(fx.Keys[s], msg).Equal(sig), "signatures[%d] is not %d's signature", k, s)
		}
		// Individual signatures can be dropped or reordered, so a verified
		// certificate is a quorum subset of an honest one.
		require.True(t, slices.ContainsFunc(honest, func(h *types.PBFTCert) bool {
			if h.Phase != c.Phase || h.View != c.View || h.Seq != c.Seq || h.Digest != c.Digest {
				return false
			}
			for _, s := range c.Signers {
				if !slices.Contains(h.Signers, s) {
					return false
				}
			}
			return true
		}), "verified PBFT cert %v is not drawn from an honest seed", &c)
		require.Error(t, qc.NewVerifier("other-chain", fx.Set).VerifyPBFTCert(&c, threshold))
	})
}

func fuzzInts(idx []types.ValidatorIndex) []int {
	out := make([]int, len(idx))
	for k, i := range idx {
		out[k] = int(i)
	}
	return out
}
