package types_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/types"
	"github.com/bftkit/bftkit/types/typestest"
)

func validGenesis(n int) types.Genesis {
	fx := typestest.Validators(n, 1)
	g := types.Genesis{ChainID: "test-chain", AppState: json.RawMessage(`{"k":"v"}`)}
	for i, sk := range fx.Keys {
		g.Validators = append(g.Validators, types.GenesisValidatorFor(sk, "", "peer-"+string(rune('a'+i)), "/ip4/127.0.0.1/tcp/26656"))
	}
	return g
}

func TestGenesisRoundTrip(t *testing.T) {
	g := validGenesis(4)
	data, err := json.Marshal(g)
	require.NoError(t, err)
	got, vs, err := types.ParseGenesis(data)
	require.NoError(t, err)
	require.Equal(t, "test-chain", got.ChainID)
	require.Equal(t, 4, vs.N())
	require.True(t, vs.PubKey(2).Equal(typestest.Validators(4, 1).Keys[2].PublicKey()))
	require.Equal(t, "peer-c", vs.Validator(2).PeerID)
}

// Each bad field is reported by name, so an operator knows what to fix.
func TestGenesisErrorsNameTheField(t *testing.T) {
	other := validGenesis(5).Validators[4]
	cases := []struct {
		name string
		edit func(g *types.Genesis)
		want string
	}{
		{"no chain id", func(g *types.Genesis) { g.ChainID = "" }, "chain_id: required"},
		{"chain id charset", func(g *types.Genesis) { g.ChainID = "a b" }, "chain_id:"},
		{"chain id length", func(g *types.Genesis) { g.ChainID = strings.Repeat("a", 65) }, "chain_id:"},
		{"no validators", func(g *types.Genesis) { g.Validators = nil }, "validators: at least one"},
		{"pub key hex", func(g *types.Genesis) { g.Validators[1].PubKey = "xyz" }, "validators[1].pub_key: not hex"},
		{"pub key length", func(g *types.Genesis) { g.Validators[2].PubKey = "abcd" }, "validators[2].pub_key:"},
		{"pop hex", func(g *types.Genesis) { g.Validators[0].PoP = "q" }, "validators[0].proof_of_possession: not hex"},
		{"pop of another key", func(g *types.Genesis) { g.Validators[3].PoP = other.PoP }, "validators[3].proof_of_possession"},
		{"address", func(g *types.Genesis) { g.Validators[1].Address = "127.0.0.1:26656" }, "validators[1].address"},
		{"duplicate key", func(g *types.Genesis) { g.Validators[3] = g.Validators[0] }, "validators[3] has the same public key"},
		{"app state", func(g *types.Genesis) { g.AppState = json.RawMessage(`{`) }, "app_state"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := validGenesis(4)
			tc.edit(&g)
			_, err := g.Validate()
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestParseGenesisRejectsUnknownAndTrailingData(t *testing.T) {
	data, err := json.Marshal(validGenesis(4))
	require.NoError(t, err)
	_, _, err = types.ParseGenesis([]byte(strings.Replace(string(data), `"chain_id"`, `"chainid":"x","chain_id"`, 1)))
	require.ErrorContains(t, err, `unknown field "chainid"`)
	_, _, err = types.ParseGenesis(append(data, []byte(`{}`)...))
	require.ErrorContains(t, err, "trailing data")
}
