package hotstuffsim_test

import (
	"testing"

	"github.com/bftkit/bftkit/driver/drivertest"
	"github.com/bftkit/bftkit/hotstuff/hotstuffsim"
	"github.com/bftkit/bftkit/testnet/sim"
	"github.com/stretchr/testify/require"
)

// An honest engine that halts is a violation the simulator reports with
// the engine's own reason, through the same driver a node runs (see
// node's TestHaltedEngineStopsTheValidatorVisibly for the node's side).
func TestHaltedEngineIsReportedWithItsReason(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		p := hotstuffsim.Protocol(hotstuffsim.Options{})
		p.Descriptor = drivertest.HaltAfter(p.Descriptor, 3)
		res, err := sim.Run(sim.DefaultConfig(p, 4, seed))
		require.NoError(t, err)
		require.NotNil(t, res.Violation, "seed %d: a halted engine went unnoticed", seed)
		require.Contains(t, res.Violation.What, "the engine halted: drivertest: halted after committing height", "seed %d", seed)
	}
}
