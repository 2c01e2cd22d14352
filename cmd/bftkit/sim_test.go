package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSimJSONSummary(t *testing.T) {
	out, err := run(t, "sim", "--protocol", "sequencer", "--seeds", "3", "--json")
	require.NoError(t, err)
	line := out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:]
	var sum map[string]any
	require.NoError(t, json.Unmarshal([]byte(line), &sum), out)
	for _, key := range []string{"seeds", "safety_violations", "liveness_failures", "blocks_committed", "msgs_per_block"} {
		require.Contains(t, sum, key)
	}
	require.EqualValues(t, 3, sum["seeds"])
	require.EqualValues(t, 0, sum["safety_violations"])
	require.Greater(t, sum["blocks_committed"].(float64), 0.0)
}

// A violation makes the command fail and names the seed that replays it.
func TestSimFailsOnViolationAndNamesTheSeed(t *testing.T) {
	out, err := run(t, "sim", "--protocol", "eager", "--faults", "partitions", "--seed", "2")
	require.Error(t, err)
	require.Contains(t, err.Error(), "[2]")
	require.Contains(t, out, "safety violation (seed 2")
	require.Contains(t, out, "replay with: bftkit sim --protocol eager --nodes 4 --seed 2")
}

func TestSimFlagErrors(t *testing.T) {
	for args, want := range map[string]string{
		"--protocol nope":               `unknown protocol "nope"`,
		"--faults nope":                 `unknown profile "nope"`,
		"--byzantine 3":                 "not NODE=BEHAVIOUR",
		"--byzantine 1=silent,1=silent": "listed twice",
		"--byzantine 3=nope":            `no behaviour "nope"`,
		"--seeds 0":                     "at least 1",
	} {
		_, err := run(t, append([]string{"sim"}, strings.Fields(args)...)...)
		require.ErrorContains(t, err, want, args)
	}
}

// `bftkit sim --protocol pbft` runs every PBFT behaviour by name.
func TestSimRunsEveryPBFTBehaviourByName(t *testing.T) {
	for _, name := range simProtocols["pbft"]().BehaviourNames() {
		out, err := run(t, "sim", "--protocol", "pbft", "--seeds", "2", "--byzantine", "1="+name, "--json")
		require.NoError(t, err, "%s: %s", name, out)
		require.Contains(t, out, `"safety_violations":0`, name)
	}
}

// `bftkit sim --protocol raft` runs, and its Byzantine behaviour breaks it
// (the command reports the violation and fails).
func TestSimRunsRaft(t *testing.T) {
	out, err := run(t, "sim", "--protocol", "raft", "--nodes", "5", "--seeds", "3", "--json")
	require.NoError(t, err, out)
	require.Contains(t, out, `"safety_violations":0`)
	out, err = run(t, "sim", "--protocol", "raft", "--nodes", "5", "--seeds", "3", "--faults", "none", "--byzantine", "0=equivocate")
	require.Error(t, err, out)
	require.Contains(t, out, "safety violation")
}
