package pbft

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/types"
)

// worstNewView builds the largest new-view n replicas with window L can
// produce: 2f+1 view-changes, each with a checkpoint proof and L prepared
// certificates of 2f signatures.
func worstNewView(n int, window uint64) *types.PBFTNewView {
	q := quorum(n)
	sig := bytes.Repeat([]byte{0xab}, 96)
	d := types.BlockID{1}
	cert := func(phase types.PBFTPhase, k int, seq uint64) *types.PBFTCert {
		c := &types.PBFTCert{Phase: phase, View: 1 << 40, Seq: seq, Digest: d}
		if phase == types.PhaseCheckpoint {
			c.View = 0
		}
		for i := range k {
			c.Signers = append(c.Signers, types.ValidatorIndex(n-1-i))
			c.Signatures = append(c.Signatures, sig)
		}
		return c
	}
	nv := &types.PBFTNewView{View: 1 << 41, Primary: types.ValidatorIndex(n - 1), Signature: sig}
	for r := range q {
		vc := &types.PBFTViewChange{View: nv.View, Replica: types.ValidatorIndex(n - 1 - r), Signature: sig,
			Stable: cert(types.PhaseCheckpoint, q, 1<<40)}
		for k := range window {
			seq := 1<<40 + 1 + k
			vc.Prepared = append(vc.Prepared, &types.PBFTPrepared{View: 1 << 40, Seq: seq, Digest: d,
				PrePrepareSignature: sig, Prepares: cert(types.PhasePrepare, q-1, seq)})
		}
		nv.ViewChanges = append(nv.ViewChanges, vc)
	}
	for k := range window {
		nv.PrePrepares = append(nv.PrePrepares, &types.PBFTOrder{Seq: 1<<40 + 1 + k, Digest: d, Signature: sig})
	}
	return nv
}

// NewViewBound really bounds the largest new-view, and not by a silly
// margin; the default window shrinks with n so that it fits a message.
func TestNewViewBoundHoldsAndDefaultWindowFits(t *testing.T) {
	for _, tc := range []struct {
		n      int
		window uint64
	}{{4, 64}, {16, 64}, {64, 16}, {100, 8}} {
		data, err := types.EncodeMessage(types.Message{From: types.ValidatorIndex(tc.n - 1), Payload: worstNewView(tc.n, tc.window)})
		require.NoError(t, err)
		bound := NewViewBound(tc.n, tc.window)
		require.LessOrEqual(t, len(data), bound, "n=%d L=%d", tc.n, tc.window)
		if tc.n >= 16 { // where the size matters, the bound is tight
			require.Greater(t, float64(len(data)), 0.8*float64(bound), "n=%d L=%d: the bound is loose", tc.n, tc.window)
		}
	}
	for _, n := range []int{4, 16, 64, 100} {
		cfg := DefaultConfig(0, n, "c", nil, nil)
		require.LessOrEqual(t, NewViewBound(n, cfg.WindowSize), types.MaxMessageBytes, "n=%d", n)
		require.GreaterOrEqual(t, cfg.WindowSize, 2*cfg.CheckpointInterval, "n=%d", n)
		t.Logf("n=%d: L=%d K=%d, new-view ≤ %d bytes", n, cfg.WindowSize, cfg.CheckpointInterval, NewViewBound(n, cfg.WindowSize))
	}
}

// A window too large for n is a configuration error that says what fits.
func TestConfigRefusesAWindowWhoseNewViewCannotBeSent(t *testing.T) {
	cfg := DefaultConfig(0, 64, "c", nil, nil)
	cfg.Signer, cfg.Scheme = newFixture(t, 4, 0).cfg.Signer, newFixture(t, 4, 0).cfg.Scheme
	cfg.WindowSize = 64
	require.ErrorContains(t, cfg.check(), "message limit")
	cfg.N = 1
	require.ErrorContains(t, cfg.check(), "n = 1")
}
