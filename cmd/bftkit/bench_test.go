package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/bench"
)

// `bftkit bench complexity` prints a table with each protocol's exponent
// and writes CSV, JSON and the four plots.
func TestBenchComplexityWritesTableFilesAndPlots(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, "bench", "complexity", "--protocols", "hotstuff,pbft,raft", "--n", "4,7", "--blocks", "8", "--out", dir)
	require.NoError(t, err, out)
	for _, want := range []string{"hotstuff: msgs/block grows as n^", "pbft: msgs/block grows as n^", "raft: msgs/block grows as n^", "view-change"} {
		require.Contains(t, out, want)
	}
	for _, f := range []string{"complexity.csv", "complexity.json", "msgs_per_block.png", "msgs_per_block.svg", "bytes_per_block.png", "bytes_per_block.svg"} {
		st, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, f)
		require.Positive(t, st.Size(), f)
	}
	_, err = run(t, "bench", "complexity", "--protocols", "nope", "--n", "4")
	require.ErrorContains(t, err, `unknown protocol "nope"`)
	_, err = run(t, "bench", "complexity", "--n", "4,x")
	require.ErrorContains(t, err, "--n")
}

// `bftkit bench throughput` runs real validator processes through
// `bftkit testnet` and reports what they committed.
func TestE2EBenchThroughputRunsTheTestnet(t *testing.T) {
	bin := e2eBinary(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "bench", "throughput", "--protocols", "raft", "--duration", "2s", "--rate", "300", "--json", "--out", dir)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	var rows []bench.Throughput
	require.NoError(t, json.Unmarshal([]byte(stdout.String()), &rows), stdout.String())
	require.Len(t, rows, 1)
	require.True(t, rows[0].Agree)
	require.Positive(t, rows[0].Committed)
	require.Positive(t, rows[0].Latency.P50)
	for _, f := range []string{"throughput.json", "throughput.png", "throughput.svg", "latency.png", "latency.svg"} {
		_, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, f)
	}
}
