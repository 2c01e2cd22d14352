package types_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/types"
	"github.com/bftkit/bftkit/types/typestest"
)

func TestQuorumAndFaultThreshold(t *testing.T) {
	for _, tc := range []struct{ n, f, quorum int }{
		{1, 0, 1}, {3, 0, 3}, {4, 1, 3}, {5, 1, 4}, {7, 2, 5}, {10, 3, 7}, {16, 5, 11}, {64, 21, 43}, {100, 33, 67},
	} {
		vs := typestest.Validators(tc.n, 1).Set
		require.Equal(t, tc.f, vs.F(), "n=%d", tc.n)
		require.Equal(t, tc.quorum, vs.Quorum(), "n=%d", tc.n)
		// Two quorums overlap in more than f members: at least one honest.
		require.Greater(t, 2*vs.Quorum()-vs.N(), vs.F(), "n=%d", tc.n)
	}
}

func TestValidatorSetRejectsKeyWithoutValidPoP(t *testing.T) {
	fx := typestest.Validators(4, 1)
	vals := fx.Set.Validators()
	// validator 2 presents validator 3's PoP: a rogue key could be admitted
	// this way if PoPs were not checked.
	vals[2].PoP = vals[3].PoP
	_, err := types.NewValidatorSet(vals)
	require.ErrorIs(t, err, types.ErrBadPoP)
	require.Contains(t, err.Error(), "validators[2].proof_of_possession")
}

func TestValidatorSetRejectsMalformedSets(t *testing.T) {
	fx := typestest.Validators(4, 1)
	_, err := types.NewValidatorSet(nil)
	require.Error(t, err)

	dupKey := fx.Set.Validators()
	dupKey[1].PubKey, dupKey[1].PoP = dupKey[0].PubKey, dupKey[0].PoP
	_, err = types.NewValidatorSet(dupKey)
	require.ErrorContains(t, err, "same public key")

	badIndex := fx.Set.Validators()
	badIndex[3].Index = 7
	_, err = types.NewValidatorSet(badIndex)
	require.ErrorContains(t, err, "validators[3] has index 7")

	dupPeer := fx.Set.Validators()
	dupPeer[0].PeerID, dupPeer[2].PeerID = "peer-a", "peer-a"
	_, err = types.NewValidatorSet(dupPeer)
	require.ErrorContains(t, err, "same peer ID")
}

func TestPubKeysFollowBitmapOrder(t *testing.T) {
	fx := typestest.Validators(7, 1)
	keys := fx.Set.PubKeys(fx.Bitmap(5, 1, 6))
	require.Len(t, keys, 3)
	for k, i := range []int{1, 5, 6} {
		require.True(t, keys[k].Equal(fx.Keys[i].PublicKey()))
	}
}
