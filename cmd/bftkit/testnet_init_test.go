package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/bftkit/bftkit/config"
	"github.com/bftkit/bftkit/types"
)

func TestTestnetInitWritesHomesANodeCanLoad(t *testing.T) {
	out := filepath.Join(t.TempDir(), "net")
	_, err := run(t, "testnet", "init", "--nodes", "4", "--out", out, "--base-port", "30000")
	require.NoError(t, err)
	for i := range 4 {
		home := filepath.Join(out, fmt.Sprintf("node%d", i))
		f, err := config.Load(home)
		require.NoError(t, err)
		cfg, err := nodeConfig(home, f, newLogger(f.Log))
		require.NoError(t, err)
		require.Equal(t, types.ValidatorIndex(i), cfg.Self, "the key file decides the index")
		require.Equal(t, fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", 30000+2*i), cfg.P2PListen)
		require.Equal(t, fmt.Sprintf("127.0.0.1:%d", 30001+2*i), cfg.HTTPListen)
		require.Equal(t, cfg.P2PListen, cfg.Genesis.Validators[i].Address, "peers dial where it listens")
		st, err := os.Stat(filepath.Join(home, "validator.key"))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	}
	_, err = run(t, "testnet", "init", "--nodes", "4", "--out", out)
	require.ErrorContains(t, err, "refusing to overwrite keys")
}

func TestTestnetInitForOtherHostsAndCompose(t *testing.T) {
	out := filepath.Join(t.TempDir(), "hosts")
	_, err := run(t, "testnet", "init", "--nodes", "2", "--out", out, "--hosts", "10.0.0.1,db.example")
	require.NoError(t, err)
	f, err := config.Load(filepath.Join(out, "node1"))
	require.NoError(t, err)
	require.Equal(t, "/ip4/0.0.0.0/tcp/26658", f.P2PListen, "a non-loopback host listens on all interfaces")
	g, _, err := config.LoadGenesis(filepath.Join(out, "genesis.json"))
	require.NoError(t, err)
	require.Equal(t, "/dns4/db.example/tcp/26658", g.Validators[1].Address)

	out = filepath.Join(t.TempDir(), "compose")
	_, err = run(t, "testnet", "init", "--nodes", "4", "--out", out, "--compose")
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(out, "docker-compose.yml"))
	require.NoError(t, err)
	var compose struct {
		Services map[string]struct {
			Command []string `yaml:"command"`
			Volumes []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(data, &compose))
	require.Len(t, compose.Services, 4)
	require.Equal(t, []string{"node", "--home", "/home/node2"}, compose.Services["node2"].Command)
}

func TestTestnetFlagErrorsNameTheFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"testnet", "init", "--nodes", "4", "--out", t.TempDir() + "/x", "--hosts", "a,b"}, "--hosts: 2 hosts for 4 validators"},
		{[]string{"testnet", "init", "--nodes", "0", "--out", t.TempDir() + "/y"}, "--nodes"},
		{[]string{"testnet", "init", "--out", t.TempDir() + "/z", "--protocol", "paxos"}, "--protocol"},
		{[]string{"testnet", "--byzantine", "7=silent"}, "--byzantine: validator 7 does not exist"},
		{[]string{"testnet", "--byzantine", "1=sneaky"}, "--byzantine: unknown behaviour \"sneaky\""},
		{[]string{"testnet", "--load-rate", "-1"}, "--load-rate"},
		{[]string{"node", "--home", t.TempDir()}, "config.toml"},
	} {
		_, err := run(t, tc.args...)
		require.ErrorContains(t, err, tc.want, "%v", tc.args)
	}
}
