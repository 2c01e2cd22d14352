package bench

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// Each run is compared with the no-fault run of its own protocol and n.
func TestFaultRatiosAreAgainstTheSameProtocolAndN(t *testing.T) {
	r := FaultReport{Rate: 5000, Runs: []FaultRun{
		{Protocol: "hotstuff", Nodes: 4, Scenario: "none", Latency: Latency{P50: 100, P99: 200}},
		{Protocol: "hotstuff", Nodes: 4, Scenario: "kill-leader", Latency: Latency{P50: 150, P99: 100}},
		{Protocol: "pbft", Nodes: 4, Scenario: "none", Latency: Latency{P50: 50, P99: 50}},
		{Protocol: "pbft", Nodes: 4, Scenario: "kill-leader", Latency: Latency{P50: 100, P99: 150}},
		{Protocol: "pbft", Nodes: 7, Scenario: "kill-leader", Latency: Latency{P50: 100, P99: 150}},
	}}
	r.AddRatios()
	require.InDelta(t, 1.5, r.Runs[1].P50Ratio, 1e-9)
	require.InDelta(t, 0.5, r.Runs[1].P99Ratio, 1e-9)
	require.InDelta(t, 2.0, r.Runs[3].P50Ratio, 1e-9)
	require.InDelta(t, 3.0, r.Runs[3].P99Ratio, 1e-9)
	require.Zero(t, r.Runs[4].P50Ratio, "no no-fault run at n = 7")

	var out bytes.Buffer
	require.NoError(t, r.WriteTable(&out))
	require.Contains(t, out.String(), "kill-leader")
	files, err := r.Plot(t.TempDir())
	require.NoError(t, err)
	require.Len(t, files, 2)
}

func TestMedian(t *testing.T) {
	require.Zero(t, Median(nil))
	require.Equal(t, 3.0, Median([]float64{5, 1, 3}))
	require.Equal(t, 2.5, Median([]float64{4, 1, 2, 3}))
}
