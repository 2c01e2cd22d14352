package hotstuffsim_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/hotstuff/hotstuffsim"
	"github.com/bftkit/bftkit/testnet/sim"
)

func calm(t *testing.T, n int, seed uint64) *sim.Sim {
	t.Helper()
	cfg := sim.DefaultConfig(hotstuffsim.Protocol(hotstuffsim.Options{}), n, seed)
	cfg.Faults = sim.Profiles["none"](seed)
	s, err := sim.New(cfg)
	require.NoError(t, err)
	return s
}

func TestCommitsInCalmNetwork(t *testing.T) {
	s := calm(t, 4, 1)
	require.NoError(t, s.RunUntilHeight(20, 400))
	require.Nil(t, s.Violation())
}
