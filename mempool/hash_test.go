package mempool

import (
	"crypto/sha256"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/types"
)

func TestTxHash(t *testing.T) {
	tx := []byte("hello")
	h := HashTx(tx)
	require.Equal(t, TxHash(sha256.Sum256(tx)), h)
	require.Equal(t, [32]byte(types.Tx(tx).Hash()), [32]byte(h), "same identity as types.Tx.Hash")
	require.Equal(t, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", h.String())

	p, err := ParseTxHash(h.String())
	require.NoError(t, err)
	require.Equal(t, h, p)
	_, err = ParseTxHash("abcd")
	require.ErrorContains(t, err, "got 2 bytes, want 32")
	_, err = ParseTxHash("zz")
	require.Error(t, err)

	js, err := json.Marshal(map[string]any{"hash": h, "status": Committed, "reason": DropExpired})
	require.NoError(t, err)
	require.JSONEq(t, `{"hash":"`+h.String()+`","status":"committed","reason":"expired"}`, string(js))
	var back struct{ Hash TxHash }
	require.NoError(t, json.Unmarshal([]byte(`{"Hash":"`+h.String()+`"}`), &back))
	require.Equal(t, h, back.Hash)
}
