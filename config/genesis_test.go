package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/types/typestest"
)

func TestLoadGenesis(t *testing.T) {
	path := filepath.Join(t.TempDir(), "genesis.json")
	require.NoError(t, os.WriteFile(path, typestest.SampleGenesisJSON(4, `{"k":"v"}`), 0o644))
	g, vs, err := LoadGenesis(path)
	require.NoError(t, err)
	require.Equal(t, typestest.ChainID, g.ChainID)
	require.JSONEq(t, `{"k":"v"}`, string(g.AppState))
	require.Equal(t, 4, vs.N())
	require.True(t, vs.PubKey(2).Equal(typestest.Validators(4, 1).Keys[2].PublicKey()))
	require.Equal(t, "12D3KooWfuzz", vs.Validator(0).PeerID)
}

// Every error names the file, and a content error the field too.
func TestLoadGenesisErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	_, _, err := LoadGenesis(filepath.Join(dir, "none.json"))
	require.ErrorContains(t, err, "none.json")
	require.ErrorIs(t, err, os.ErrNotExist)

	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"chain_id":"x","validators":[]}`), 0o644))
	_, _, err = LoadGenesis(bad)
	require.ErrorContains(t, err, "bad.json")
	require.ErrorContains(t, err, "validators: at least one")

	big := filepath.Join(dir, "big.json")
	require.NoError(t, os.WriteFile(big, make([]byte, maxGenesisBytes+1), 0o644))
	_, _, err = LoadGenesis(big)
	require.ErrorContains(t, err, "big.json: larger than")
}
