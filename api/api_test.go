package api

import (
	"encoding/json"
	"testing"

	"github.com/bftkit/bftkit/types"
	"github.com/stretchr/testify/require"
)

// TestWireFormat pins the JSON field names: they are the wire format, and
// clients built against an older node must keep decoding a newer one's
// answers. A failure here means the wire changed; do that on purpose only.
func TestWireFormat(t *testing.T) {
	for name, tc := range map[string]struct {
		v    any
		want string
	}{
		"status": {
			Status{ChainID: "c", Protocol: "hotstuff", Validator: 1, Height: 2, LastBlockID: "ab", AppHeight: 3,
				AppHash: "cd", View: 4, Leader: 5, Peers: []types.ValidatorIndex{0, 2}, MempoolTxs: 6, Validators: 7, Quorum: 8},
			`{"chain_id":"c","protocol":"hotstuff","validator_index":1,"height":2,"last_block_id":"ab","app_height":3,` +
				`"app_hash":"cd","view":4,"leader":5,"peers":[0,2],"mempool_txs":6,"validators":7,"quorum":8}`,
		},
		"tx": {
			TxResponse{Hash: "h", Status: "rejected", Height: 1, Code: 2, Log: "l"},
			`{"hash":"h","status":"rejected","height":1,"code":2,"log":"l"}`,
		},
		"tx, empty optionals": {TxResponse{Hash: "h", Status: "accepted"}, `{"hash":"h","status":"accepted"}`},
		"tx batch": {
			TxBatchResponse{Accepted: 1, Rejected: []TxBatchRejection{{Index: 1, Error: "e"}}},
			`{"accepted":1,"rejected":[{"index":1,"error":"e"}]}`,
		},
		"tx batch, all accepted": {TxBatchResponse{Accepted: 3}, `{"accepted":3}`},
		"block": {
			BlockResponse{Height: 1, ID: "i", ParentID: "p", View: 2, Proposer: 3, ParentAppHash: "pa", AppHash: "a",
				Txs: [][]byte{[]byte("x")}, Proof: []byte{1}},
			`{"height":1,"id":"i","parent_id":"p","view":2,"proposer":3,"parent_app_hash":"pa","app_hash":"a","txs":["eA=="],"proof":"AQ=="}`,
		},
		"validator": {
			ValidatorInfo{Index: 1, Name: "n", PubKey: "k", PeerID: "p", Address: "a"},
			`{"index":1,"name":"n","pub_key":"k","peer_id":"p","address":"a"}`,
		},
		"query": {QueryResponse{Key: "k", Value: "v", Height: 1}, `{"key":"k","value":"v","height":1}`},
		"error": {ErrorResponse{Error: "e"}, `{"error":"e"}`},
	} {
		got, err := json.Marshal(tc.v)
		require.NoError(t, err, name)
		require.JSONEq(t, tc.want, string(got), name)
		require.Equal(t, tc.want, string(got), name) // and the order, for readers of raw answers
	}
}
