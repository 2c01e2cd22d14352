package node

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bftkit/bftkit/api"
	"github.com/bftkit/bftkit/driver/drivertest"
	"github.com/bftkit/bftkit/hotstuff"
	"github.com/stretchr/testify/require"
)

// A halted engine stops consensus on the validator visibly, through the
// same driver the simulator runs (see hotstuffsim's
// TestHaltedEngineIsReportedWithItsReason): Halting closes, Halted names
// the engine's reason, /status says halted and the consensus_halted
// metric is 1 (the API keeps serving), and Stop returns the error
// (bftkit node then exits non-zero). The other validators keep
// committing.
func TestHaltedEngineStopsTheValidatorVisibly(t *testing.T) {
	halting := drivertest.HaltAfter(hotstuff.Descriptor(nil), 3)
	c := newTweakedCluster(t, ProtocolHotStuff, 4, func(i int, cfg *Config) {
		if i == 0 {
			cfg.Descriptor = &halting
		}
	})
	n := c.nodes[0]
	select {
	case <-n.Halting():
	case <-time.After(60 * time.Second):
		t.Fatalf("validator 0 did not halt; heights %v", c.heights())
	}
	require.ErrorIs(t, n.Halted(), ErrHalted)
	require.Contains(t, n.Halted().Error(), "drivertest: halted after committing height")

	code, body := get(t, n, "/status")
	require.Equal(t, 200, code)
	var st api.Status
	require.NoError(t, json.Unmarshal(body, &st))
	require.True(t, strings.HasPrefix(st.Halted, "consensus halted"), "status: %q", st.Halted)
	require.Contains(t, st.Halted, "drivertest: halted after committing height")
	require.Equal(t, 1.0, metricValue(t, n, "bftkit_consensus_halted"))
	require.Equal(t, 0.0, metricValue(t, c.nodes[1], "bftkit_consensus_halted"))

	require.ErrorIs(t, n.Stop(), ErrHalted, "Stop returns why consensus stopped")
	require.NoError(t, c.apps[0].Close())
	c.nodes[0], c.apps[0] = nil, nil
	c.waitHeight(8, 60*time.Second) // three of four still commit
}
