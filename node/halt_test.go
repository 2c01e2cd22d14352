package node

import (
	"strings"
	"testing"
	"time"

	"github.com/bftkit/bftkit/driver/drivertest"
	"github.com/bftkit/bftkit/hotstuff"
	"github.com/stretchr/testify/require"
)

// A halted engine stops the validator visibly, through the same driver
// the simulator runs (see hotstuffsim's
// TestHaltedEngineIsReportedWithItsReason): the node's error names the
// engine's reason, /status says halted, the consensus_halted metric is 1,
// and Done closes (bftkit node then exits non-zero). The other validators
// keep committing.
func TestHaltedEngineStopsTheValidatorVisibly(t *testing.T) {
	halting := drivertest.HaltAfter(hotstuff.Descriptor(nil), 3)
	c := newTweakedCluster(t, ProtocolHotStuff, 4, func(i int, cfg *Config) {
		if i == 0 {
			cfg.Descriptor = &halting
		}
	})
	n := c.nodes[0]
	select {
	case <-n.Done():
	case <-time.After(60 * time.Second):
		t.Fatalf("validator 0 did not halt; heights %v", c.heights())
	}
	err := n.Err()
	require.ErrorIs(t, err, ErrHalted)
	require.Contains(t, err.Error(), "drivertest: halted after committing height")
	require.True(t, strings.HasPrefix(n.Status().Halted, "consensus halted"), "status: %q", n.Status().Halted)
	require.Equal(t, 1.0, gathered(t, n, "bftkit_consensus_halted"))

	require.ErrorIs(t, n.Stop(), ErrHalted, "Stop returns the error that stopped it")
	require.NoError(t, c.apps[0].Close())
	c.nodes[0], c.apps[0] = nil, nil
	c.waitHeight(8, 60*time.Second) // three of four still commit
}

// gathered reads one unlabelled gauge or counter from the node's registry
// (its HTTP API is gone once it stopped).
func gathered(t *testing.T, n *Node, name string) float64 {
	t.Helper()
	families, err := n.Registry().Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			m := f.GetMetric()[0]
			return m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no series %s", name)
	return 0
}
