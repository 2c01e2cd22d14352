package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/config"
)

func TestAgreementComparesHonestAnsweringValidators(t *testing.T) {
	n := func(i int, id, hash, byz, err string) nodeSummary {
		return nodeSummary{Validator: i, BlockID: id, AppHash: hash, Byzantine: byz, Error: err}
	}
	for name, tc := range map[string]struct {
		nodes   []nodeSummary
		agree   bool
		dissent []int
	}{
		"all equal":              {[]nodeSummary{n(0, "a", "h", "", ""), n(1, "a", "h", "", "")}, true, nil},
		"app hash differs":       {[]nodeSummary{n(0, "a", "h", "", ""), n(1, "a", "x", "", "")}, false, []int{1}},
		"block differs":          {[]nodeSummary{n(0, "a", "h", "", ""), n(1, "b", "h", "", ""), n(2, "a", "h", "", "")}, false, []int{1}},
		"Byzantine is ignored":   {[]nodeSummary{n(0, "a", "h", "", ""), n(1, "z", "z", "equivocate", "")}, true, nil},
		"unreachable is ignored": {[]nodeSummary{n(0, "a", "h", "", ""), n(1, "", "", "", "connection refused")}, true, nil},
		"nobody answered":        {[]nodeSummary{n(0, "", "", "", "refused")}, false, nil},
	} {
		agree, dissent := agreement(tc.nodes)
		require.Equal(t, tc.agree, agree, name)
		require.Equal(t, tc.dissent, dissent, name)
	}
}

func TestTestnetOptionsAreCheckedBeforeAnythingStarts(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"testnet", "--byzantine", "0=silent,1=silent"}, "at most f = 1"},
		{[]string{"testnet", "--tx-size", "5"}, "--tx-size"},
		{[]string{"testnet", "--load-rate", "NaN"}, "--load-rate"},
		{[]string{"testnet", "--load-rate", "+Inf"}, "--load-rate"},
		{[]string{"testnet", "init", "--nodes", "3", "--out", t.TempDir() + "/h", "--hosts", "a, ,b"}, `--hosts: host 1 (""): empty`},
		{[]string{"testnet", "init", "--nodes", "2", "--out", t.TempDir() + "/h", "--hosts", "ok,bad_host!"}, "--hosts: host 1"},
	} {
		_, err := run(t, tc.args...)
		require.ErrorContains(t, err, tc.want, "%v", tc.args)
	}
	used := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(used, "x"), nil, 0o600))
	_, err := run(t, "testnet", "--home", used)
	require.ErrorContains(t, err, "--home")
}

// requireStoppedCleanly checks that every validator's log ends with its
// clean stop.
func requireStoppedCleanly(t *testing.T, home string, n int) {
	for i := range n {
		log, err := os.ReadFile(filepath.Join(home, fmt.Sprintf("node%d", i), "node.log"))
		require.NoError(t, err)
		require.Contains(t, string(log), "validator stopped", "validator %d did not stop cleanly:\n%s", i, log)
	}
}

// The main job as a user runs it: `bftkit testnet` for a few seconds, as
// real processes, with a JSON summary, for each protocol.
func TestE2ETestnetCommandCommitsAndAgrees(t *testing.T) {
	bin := e2eBinary(t)
	for _, protocol := range config.Protocols {
		t.Run(protocol, func(t *testing.T) {
			home := filepath.Join(t.TempDir(), "net")
			cmd := exec.Command(bin, "testnet", "--protocol", protocol, "--duration", "3s", "--load-rate", "300", "--json", "--home", home)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			require.NoError(t, cmd.Start())
			t.Cleanup(func() { _ = cmd.Process.Kill() })
			waited := make(chan error, 1)
			go func() { waited <- cmd.Wait() }()
			select {
			case err := <-waited:
				require.NoError(t, err, "stderr:\n%s", stderr.String())
			case <-time.After(90 * time.Second):
				t.Fatalf("bftkit testnet did not finish; stderr:\n%s", stderr.String())
			}
			var sum testnetSummary
			require.NoError(t, json.Unmarshal(stdout.Bytes(), &sum), stdout.String())
			require.Equal(t, protocol, sum.Protocol)
			require.True(t, sum.Agree, "%+v", sum)
			require.Len(t, sum.Nodes, 4)
			require.Positive(t, sum.CommonHeight)
			require.NotNil(t, sum.Load)
			require.Positive(t, sum.Load.Committed)
			require.Zero(t, sum.Load.Uncommitted, "the load drains before the testnet stops")
			requireStoppedCleanly(t, home, 4)
		})
	}
}

// Ctrl-C (SIGINT) stops the launcher and every validator cleanly.
func TestE2ETestnetCommandStopsOnInterrupt(t *testing.T) {
	bin := e2eBinary(t)
	home := filepath.Join(t.TempDir(), "net")
	cmd := exec.Command(bin, "testnet", "--home", home, "--load-rate", "100")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := bufio.NewScanner(stderr)
	statusLines := 0
	for statusLines < 2 && lines.Scan() { // two status lines: the testnet is up and committing
		if strings.HasPrefix(lines.Text(), "height ") {
			statusLines++
		}
	}
	require.Equal(t, 2, statusLines, "no status lines")
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	go func() {
		for lines.Scan() { // keep the pipe drained
		}
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		require.NoError(t, err, "stdout:\n%s", stdout.String())
	case <-time.After(60 * time.Second):
		t.Fatal("bftkit testnet did not stop on SIGINT")
	}
	require.Contains(t, stdout.String(), "all honest validators agree")
	requireStoppedCleanly(t, home, 4)
}
