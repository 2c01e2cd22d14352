package qc_test

import (
	"testing"

	"github.com/herumi/bls-eth-go-binary/bls"
	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/crypto"
	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
	"github.com/bftkit/bftkit/types/typestest"
)

var blockA = types.BlockID{0xa}

func TestHonestQCVerifies(t *testing.T) {
	fx := typestest.Validators(4, 1)
	v := qc.NewVerifier(typestest.ChainID, fx.Set)
	require.NoError(t, v.VerifyQC(fx.QC(3, blockA, 0, 1, 2)))
	require.NoError(t, v.VerifyQC(fx.QC(3, blockA, 0, 1, 2, 3)))
	require.NoError(t, v.VerifyQC(fx.QC(3, blockA, 1, 2, 3)), "any quorum, cache or not")
}

// Every way of forging a QC that the safety invariants name must be rejected.
func TestForgedQCsAreRejected(t *testing.T) {
	fx := typestest.Validators(4, 1)
	outsider := typestest.Validators(4, 2)
	v := qc.NewVerifier(typestest.ChainID, fx.Set)
	voteBytes := types.VoteSignBytes(typestest.ChainID, 3, blockA)
	withSig := func(signers types.Bitmap, sig crypto.Signature) *types.QuorumCert {
		return &types.QuorumCert{View: 3, BlockID: blockA, Signers: signers, Signature: sig.Bytes()}
	}
	outsiderSig, _ := crypto.AggregateSignatures([]crypto.Signature{
		crypto.Sign(fx.Keys[0], voteBytes), crypto.Sign(fx.Keys[1], voteBytes), crypto.Sign(outsider.Keys[2], voteBytes),
	})
	cases := []struct {
		name string
		qc   *types.QuorumCert
		want error
	}{
		{"too few signers", fx.QC(3, blockA, 0, 1), qc.ErrTooFewSigners},
		{"duplicate signer counted twice", withSig(fx.Bitmap(0, 1, 2), fx.Sign(voteBytes, 0, 0, 1)), qc.ErrBadSignature},
		{"duplicate signer in too small a bitmap", withSig(fx.Bitmap(0, 1), fx.Sign(voteBytes, 0, 0, 1)), qc.ErrTooFewSigners},
		{"non-member bit in bitmap", withSig(types.Bitmap{0b0001_0111}, fx.Sign(voteBytes, 0, 1, 2)), types.ErrBitmapNonMember},
		{"non-member's signature", withSig(fx.Bitmap(0, 1, 2), outsiderSig), qc.ErrBadSignature},
		{"bitmap too long", withSig(types.Bitmap{0b0111, 0}, fx.Sign(voteBytes, 0, 1, 2)), types.ErrBitmapLength},
		{"bitmap empty", withSig(types.Bitmap{}, fx.Sign(voteBytes, 0, 1, 2)), types.ErrBitmapLength},
		{"signature over another block", withSig(fx.Bitmap(0, 1, 2), fx.Sign(types.VoteSignBytes(typestest.ChainID, 3, types.BlockID{0xb}), 0, 1, 2)), qc.ErrBadSignature},
		{"signature over another view", withSig(fx.Bitmap(0, 1, 2), fx.Sign(types.VoteSignBytes(typestest.ChainID, 4, blockA), 0, 1, 2)), qc.ErrBadSignature},
		{"signature on another chain", withSig(fx.Bitmap(0, 1, 2), fx.Sign(types.VoteSignBytes("other-chain", 3, blockA), 0, 1, 2)), qc.ErrBadSignature},
		{"signature of another kind (proposal)", withSig(fx.Bitmap(0, 1, 2), fx.Sign(types.ProposalSignBytes(typestest.ChainID, 3, blockA), 0, 1, 2)), qc.ErrBadSignature},
		{"signers' bitmap claims one who did not sign", withSig(fx.Bitmap(0, 1, 2, 3), fx.Sign(voteBytes, 0, 1, 2)), qc.ErrBadSignature},
		{"nil", nil, qc.ErrMissing},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, v.VerifyQC(tc.qc), tc.want)
		})
	}
	bad := fx.QC(3, blockA, 0, 1, 2)
	bad.Signature = bad.Signature[:50]
	require.ErrorContains(t, v.VerifyQC(bad), "signature is 50 bytes")
	bad = fx.QC(3, blockA, 0, 1, 2)
	bad.Signature = make([]byte, crypto.SignatureSize)
	require.Error(t, v.VerifyQC(bad), "an undecodable point")
}

// A rogue-key attack: validator 3 registers pk_3 = pk_a − pk_0 − pk_1 for a
// key a it knows. Then pk_0 + pk_1 + pk_3 = pk_a, and it alone can forge a
// "quorum" of {0, 1, 3}. The proof of possession is what stops it: nobody
// knows the secret key of pk_3, so no PoP for it verifies.
func TestRogueKeyIsStoppedByProofOfPossession(t *testing.T) {
	fx := typestest.Validators(4, 1)
	attacker := typestest.Validators(1, 9).Keys[0]

	var rogue bls.G1
	var pa, p0, p1 bls.PublicKey
	require.NoError(t, pa.Deserialize(attacker.PublicKey().Bytes()))
	require.NoError(t, p0.Deserialize(fx.Keys[0].PublicKey().Bytes()))
	require.NoError(t, p1.Deserialize(fx.Keys[1].PublicKey().Bytes()))
	bls.G1Sub(&rogue, bls.CastFromPublicKey(&pa), bls.CastFromPublicKey(&p0))
	bls.G1Sub(&rogue, &rogue, bls.CastFromPublicKey(&p1))
	rogueKey, err := crypto.PublicKeyFromBytes(bls.CastToPublicKey(&rogue).Serialize())
	require.NoError(t, err)

	// Without PoPs the attack works: the attacker's lone signature passes
	// as an aggregate of 0, 1 and 3.
	msg := types.VoteSignBytes(typestest.ChainID, 3, blockA)
	forged := crypto.Sign(attacker, msg)
	keys := []crypto.PublicKey{fx.Keys[0].PublicKey(), fx.Keys[1].PublicKey(), rogueKey}
	require.True(t, crypto.FastAggregateVerify(keys, msg, forged), "the rogue-key construction is broken, so this test proves nothing")

	// With PoPs it cannot get in: the best it can offer is a PoP of another key.
	vals := fx.Set.Validators()
	vals[3].PubKey = rogueKey
	vals[3].PoP = crypto.ProvePossession(attacker)
	_, err = types.NewValidatorSet(vals)
	require.ErrorIs(t, err, types.ErrBadPoP)
}

func TestVerifyTC(t *testing.T) {
	fx := typestest.Validators(4, 1)
	v := qc.NewVerifier(typestest.ChainID, fx.Set)
	good := fx.TC(7, []int{0, 2, 3}, []uint64{5, 6, 5})
	require.NoError(t, v.VerifyTC(good))
	require.NoError(t, v.VerifyTC(fx.TC(7, []int{0, 1, 2, 3}, []uint64{1, 2, 3, 4})), "all messages distinct")

	lied := fx.TC(7, []int{0, 2, 3}, []uint64{5, 6, 5})
	lied.HighQcViews[1] = 5 // signer 2 signed view 6; claiming 5 must fail
	require.ErrorIs(t, v.VerifyTC(lied), qc.ErrBadSignature)

	reordered := fx.TC(7, []int{0, 2, 3}, []uint64{5, 6, 5})
	reordered.HighQcViews = []uint64{6, 5, 5}
	require.ErrorIs(t, v.VerifyTC(reordered), qc.ErrBadSignature)

	require.ErrorIs(t, v.VerifyTC(fx.TC(7, []int{0, 2}, []uint64{5, 6})), qc.ErrTooFewSigners)

	otherView := fx.TC(7, []int{0, 2, 3}, []uint64{5, 6, 5})
	otherView.View = 8
	require.ErrorIs(t, v.VerifyTC(otherView), qc.ErrBadSignature)

	missingView := fx.TC(7, []int{0, 2, 3}, []uint64{5, 6, 5})
	missingView.HighQcViews = missingView.HighQcViews[:2]
	require.ErrorContains(t, v.VerifyTC(missingView), "2 high QC views for 3 signers")

	nonMember := fx.TC(7, []int{0, 2, 3}, []uint64{5, 6, 5})
	nonMember.Signers = types.Bitmap{0b1000_1101}
	nonMember.HighQcViews = append(nonMember.HighQcViews, 1)
	require.ErrorIs(t, v.VerifyTC(nonMember), types.ErrBitmapNonMember)

	otherChain := &types.TimeoutCert{View: 7, Signers: fx.Bitmap(0, 1, 2), HighQcViews: []uint64{1, 1, 1},
		Signature: fx.Sign(types.TimeoutSignBytes("other-chain", 7, 1), 0, 1, 2).Bytes()}
	require.ErrorIs(t, v.VerifyTC(otherChain), qc.ErrBadSignature)
	require.ErrorIs(t, v.VerifyTC(nil), qc.ErrMissing)
}

func TestVerifyPBFTCert(t *testing.T) {
	fx := typestest.Validators(4, 1)
	v := qc.NewVerifier(typestest.ChainID, fx.Set)
	q := fx.Set.Quorum()
	require.NoError(t, v.VerifyPBFTCert(fx.PBFTCert(types.PhaseCommit, 2, 9, blockA, 0, 1, 3), q))

	dup := fx.PBFTCert(types.PhaseCommit, 2, 9, blockA, 0, 1, 1)
	require.ErrorIs(t, v.VerifyPBFTCert(dup, q), qc.ErrDuplicateSigner)

	require.ErrorIs(t, v.VerifyPBFTCert(fx.PBFTCert(types.PhaseCommit, 2, 9, blockA, 0, 1), q), qc.ErrTooFewSigners)

	nonMember := fx.PBFTCert(types.PhaseCommit, 2, 9, blockA, 0, 1, 3)
	nonMember.Signers[2] = 4
	require.ErrorIs(t, v.VerifyPBFTCert(nonMember, q), qc.ErrNonMember)

	// A prepare certificate is not a commit certificate, even with the
	// same view, sequence number and digest.
	phase := fx.PBFTCert(types.PhasePrepare, 2, 9, blockA, 0, 1, 3)
	phase.Phase = types.PhaseCommit
	require.ErrorIs(t, v.VerifyPBFTCert(phase, q), qc.ErrBadSignature)

	// Matching on the digest: signatures over another digest.
	digest := fx.PBFTCert(types.PhaseCommit, 2, 9, types.BlockID{0xb}, 0, 1, 3)
	digest.Digest = blockA
	require.ErrorIs(t, v.VerifyPBFTCert(digest, q), qc.ErrBadSignature)

	swapped := fx.PBFTCert(types.PhaseCommit, 2, 9, blockA, 0, 1, 3)
	swapped.Signers[0], swapped.Signers[1] = swapped.Signers[1], swapped.Signers[0]
	require.ErrorIs(t, v.VerifyPBFTCert(swapped, q), qc.ErrBadSignature)

	mismatch := fx.PBFTCert(types.PhaseCommit, 2, 9, blockA, 0, 1, 3)
	mismatch.Signatures = mismatch.Signatures[:2]
	require.ErrorContains(t, v.VerifyPBFTCert(mismatch, q), "3 signers but 2 signatures")
	require.ErrorIs(t, v.VerifyPBFTCert(nil, q), qc.ErrMissing)
}

func TestVerifyPBFTCertRefusesANonPositiveThreshold(t *testing.T) {
	fx := typestest.Validators(4, 1)
	v := qc.NewVerifier(typestest.ChainID, fx.Set)
	empty := &types.PBFTCert{Phase: types.PhaseCommit, View: 1, Seq: 1, Digest: blockA}
	require.ErrorContains(t, v.VerifyPBFTCert(empty, 0), "threshold 0")
	require.ErrorContains(t, v.VerifyPBFTCert(empty, 5), "threshold 5")
}
