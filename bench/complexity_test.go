package bench

import (
	"bytes"
	"encoding/csv"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// The complexity benchmark reproduces each protocol's steady-state count
// (the simulators' own tests check the formulas; here the numbers must
// come out of RunComplexity the same), fits exponents that tell linear
// from quadratic, and writes a table, CSV, JSON and plots.
func TestComplexityReportsEachProtocolsCount(t *testing.T) {
	points, err := RunComplexity(Config{Protocols: ProtocolNames(), Ns: []int{4, 7, 10}, Blocks: 16})
	require.NoError(t, err)
	require.Len(t, points, 3*3*2)
	r := NewReport(points)
	steady := func(protocol string, n int) Point {
		for _, p := range r.Points {
			if p.Protocol == protocol && p.N == n && p.Scenario == Steady {
				return p
			}
		}
		t.Fatalf("no steady point for %s n=%d", protocol, n)
		return Point{}
	}
	for _, n := range []int{4, 7, 10} {
		require.InDelta(t, 2*(n-1), steady("hotstuff", n).Msgs, 0.1*float64(n), "hotstuff n=%d", n)
		pbft := float64((n-1)+(n-1)*(n-1)+n*(n-1)) + float64(n*(n-1))/4 // K = 4 in the simulator
		require.InDelta(t, pbft, steady("pbft", n).Msgs, 0.1*pbft, "pbft n=%d", n)
		require.Zero(t, steady("raft", n).SigsCreated, "raft signs nothing")
		require.Positive(t, steady("pbft", n).CertBytes)
	}
	require.Less(t, r.Exponents["hotstuff"], 1.3)
	require.Greater(t, r.Exponents["pbft"], 1.6)
	require.Less(t, r.Exponents["raft"], 1.3)
	for _, p := range r.Points {
		require.Positive(t, p.Blocks, "%s n=%d %s", p.Protocol, p.N, p.Scenario)
	}

	var table, js, cs bytes.Buffer
	require.NoError(t, r.WriteTable(&table))
	require.Contains(t, table.String(), "pbft: msgs/block grows as n^")
	require.NoError(t, r.WriteJSON(&js))
	require.Contains(t, js.String(), `"exponents"`)
	require.NoError(t, r.WriteCSV(&cs))
	rows, err := csv.NewReader(&cs).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 1+len(points))

	dir := t.TempDir()
	files, err := r.Plot(dir)
	require.NoError(t, err)
	require.Len(t, files, 4)
	for _, f := range files {
		st, err := os.Stat(f)
		require.NoError(t, err)
		require.Positive(t, st.Size(), f)
	}
}
