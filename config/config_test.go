package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDefaultRoundTripsThroughTOML(t *testing.T) {
	f := Default()
	data, err := f.Marshal()
	require.NoError(t, err)
	require.Contains(t, string(data), "# Length of one engine tick", "keys are documented in the file")
	got, err := Parse(data)
	require.NoError(t, err)
	require.Equal(t, f, *got)
}

func TestPartialFileKeepsDefaults(t *testing.T) {
	got, err := Parse([]byte("[consensus]\ntick_interval = '10ms'\nempty_block_interval = '50ms'\nview_timeout = '2s'\n"))
	require.NoError(t, err)
	require.Equal(t, 10*time.Millisecond, got.Consensus.TickInterval.Duration)
	require.Equal(t, 2*time.Second, got.Consensus.ViewTimeout.Duration)
	require.Zero(t, got.Consensus.MaxViewTimeout.Duration, "0s: the protocol's default")
	require.Equal(t, Default().Mempool, got.Mempool)
}

func TestBadConfigNamesTheKey(t *testing.T) {
	for name, tc := range map[string]struct{ toml, want string }{
		"unknown key":       {"protcol = 'hotstuff'\n", "unknown key protcol"},
		"unknown table key": {"[mempool]\nmax_tx = 3\n", "unknown key mempool.max_tx"},
		"bad protocol":      {"protocol = 'paxos'\n", "protocol: \"paxos\""},
		"bad duration":      {"[consensus]\ntick_interval = 'soon'\n", "tick_interval"},
		"tick too short":    {"[consensus]\ntick_interval = '10us'\n", "consensus.tick_interval"},
		"wrong type":        {"[mempool]\nmax_txs = 'many'\n", "mempool.max_txs"},
		"negative timeout":  {"[consensus]\nview_timeout = '-1s'\n", "consensus.view_timeout"},
		"timeout < tick":    {"[consensus]\nview_timeout = '10ms'\n", "shorter than one tick"},
		"cap below timeout": {"[consensus]\nview_timeout = '1s'\nmax_view_timeout = '500ms'\n", "consensus.max_view_timeout"},
		"zero mempool":      {"[mempool]\nmax_txs = 0\n", "mempool.max_txs: must be positive"},
		"tiny mempool":      {"[mempool]\nmax_bytes = 1000\n", "mempool.max_bytes: must hold"},
		"bad http port":     {"http_listen = '127.0.0.1:99999'\n", "http_listen: port"},
		"bad multiaddr":     {"p2p_listen = '127.0.0.1:26656'\n", "p2p_listen"},
		"bad http listen":   {"http_listen = 'localhost'\n", "http_listen"},
		"bad log level":     {"[log]\nlevel = 'loud'\n", "log.level"},
		"empty key file":    {"key_file = ''\n", "key_file: required"},
		"not toml":          {"protocol = \n", "line 1"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.toml))
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	home := t.TempDir()
	_, err := Load(home)
	require.ErrorContains(t, err, FileName)
	require.NoError(t, os.WriteFile(filepath.Join(home, FileName), []byte("protocol = 'paxos'\n"), 0o600))
	_, err = Load(home)
	require.ErrorContains(t, err, filepath.Join(home, FileName))
	require.NoError(t, os.WriteFile(filepath.Join(home, FileName), make([]byte, maxConfigBytes+1), 0o600))
	_, err = Load(home)
	require.ErrorContains(t, err, "larger than")
}

func TestPathIsRelativeToHome(t *testing.T) {
	require.Equal(t, filepath.Join("/h", "genesis.json"), Path("/h", "genesis.json"))
	require.Equal(t, "/etc/g.json", Path("/h", "/etc/g.json"))
}
