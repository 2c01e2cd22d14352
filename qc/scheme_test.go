package qc_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
	"github.com/bftkit/bftkit/types/typestest"
)

// schemeUnderTest is a scheme with a signer for each of its 4 members.
type schemeUnderTest struct {
	name    string
	scheme  qc.Scheme
	signers []qc.Signer
}

func schemesUnderTest() []schemeUnderTest {
	fx := typestest.Validators(4, 1)
	bls := schemeUnderTest{name: "bls", scheme: qc.NewBLSScheme(fx.Set)}
	for _, sk := range fx.Keys {
		bls.signers = append(bls.signers, qc.NewBLSSigner(sk))
	}
	hs := qc.NewHashScheme(4, 99)
	hash := schemeUnderTest{name: "hash", scheme: hs}
	for i := range 4 {
		hash.signers = append(hash.signers, hs.Signer(types.ValidatorIndex(i)))
	}
	return []schemeUnderTest{bls, hash}
}

// Every scheme must give certificates the same meaning: the same honest
// certificates verify and the same forgeries fail.
func TestSchemesAgreeOnCertificates(t *testing.T) {
	for _, s := range schemesUnderTest() {
		t.Run(s.name, func(t *testing.T) {
			v := qc.NewSchemeVerifier(typestest.ChainID, 4, 3, s.scheme)
			vote := types.VoteSignBytes(typestest.ChainID, 3, blockA)
			agg := func(msg []byte, signers ...int) []byte {
				var sigs [][]byte
				for _, i := range signers {
					sigs = append(sigs, s.signers[i].Sign(msg))
				}
				a, err := s.scheme.Aggregate(sigs)
				require.NoError(t, err)
				return a
			}
			bitmap := func(signers ...int) types.Bitmap {
				b := types.NewBitmap(4)
				for _, i := range signers {
					b.Set(types.ValidatorIndex(i))
				}
				return b
			}
			qcOf := func(b types.Bitmap, sig []byte) *types.QuorumCert {
				return &types.QuorumCert{View: 3, BlockID: blockA, Signers: b, Signature: sig}
			}
			require.NoError(t, v.VerifyQC(qcOf(bitmap(0, 1, 2), agg(vote, 0, 1, 2))))
			require.NoError(t, v.VerifyQC(qcOf(bitmap(0, 1, 2, 3), agg(vote, 3, 1, 0, 2))), "order of aggregation does not matter")
			require.ErrorIs(t, v.VerifyQC(qcOf(bitmap(0, 1), agg(vote, 0, 1))), qc.ErrTooFewSigners)
			require.ErrorIs(t, v.VerifyQC(qcOf(bitmap(0, 1, 2), agg(vote, 0, 0, 1))), qc.ErrBadSignature, "a signer counted twice")
			require.ErrorIs(t, v.VerifyQC(qcOf(bitmap(0, 1, 2, 3), agg(vote, 0, 1, 2))), qc.ErrBadSignature, "a claimed signer who did not sign")
			other := types.VoteSignBytes("other-chain", 3, blockA)
			require.ErrorIs(t, v.VerifyQC(qcOf(bitmap(0, 1, 2), agg(other, 0, 1, 2))), qc.ErrBadSignature)

			tcMsg := func(hqv uint64) []byte { return types.TimeoutSignBytes(typestest.ChainID, 7, hqv) }
			sigs := [][]byte{s.signers[0].Sign(tcMsg(5)), s.signers[2].Sign(tcMsg(6)), s.signers[3].Sign(tcMsg(5))}
			tcSig, err := s.scheme.Aggregate(sigs)
			require.NoError(t, err)
			tc := &types.TimeoutCert{View: 7, Signers: bitmap(0, 2, 3), HighQcViews: []uint64{5, 6, 5}, Signature: tcSig}
			require.NoError(t, v.VerifyTC(tc))
			tc.HighQcViews = []uint64{5, 5, 5}
			require.ErrorIs(t, v.VerifyTC(tc), qc.ErrBadSignature)

			require.NoError(t, v.VerifySignature(1, vote, s.signers[1].Sign(vote)))
			require.ErrorIs(t, v.VerifySignature(2, vote, s.signers[1].Sign(vote)), qc.ErrBadSignature)
			require.ErrorIs(t, v.VerifySignature(4, vote, s.signers[1].Sign(vote)), qc.ErrNonMember)
		})
	}
}

// Two hash schemes from different seeds share no keys: a node of one run
// cannot replay another run's signatures.
func TestHashSchemesOfDifferentSeedsDiffer(t *testing.T) {
	a, b := qc.NewHashScheme(4, 1), qc.NewHashScheme(4, 2)
	msg := []byte("m")
	require.False(t, b.Verify(0, msg, a.Signer(0).Sign(msg)))
	require.False(t, a.Verify(1, msg, a.Signer(0).Sign(msg)))
}
