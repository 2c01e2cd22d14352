package api

import "github.com/bftkit/bftkit/types"

// Status answers GET /status: where a validator's chain and consensus
// stand. A validator refreshes it once per tick, so it may lag by one.
type Status struct {
	ChainID  string `json:"chain_id"`
	Protocol string `json:"protocol"`
	// Validator is the answering validator's own index.
	Validator types.ValidatorIndex `json:"validator_index"`
	// Height is the last committed height; AppHeight the last the
	// application executed (it may lag by a few blocks), and AppHash the
	// application hash after it (hex).
	Height      uint64 `json:"height"`
	LastBlockID string `json:"last_block_id"` // hex; "" at height 0
	AppHeight   uint64 `json:"app_height"`
	AppHash     string `json:"app_hash"`
	// View is the consensus view (term, for Raft) and Leader its leader.
	View   uint64               `json:"view"`
	Leader types.ValidatorIndex `json:"leader"`
	// Peers are the validators connected to this one ([], never null).
	Peers      []types.ValidatorIndex `json:"peers"`
	MempoolTxs int                    `json:"mempool_txs"`
	Validators int                    `json:"validators"`
	// Quorum is how many validators the protocol needs to commit: 2f+1
	// for HotStuff and PBFT, a majority for Raft.
	Quorum int `json:"quorum"`
	// Halted is why consensus stopped on this validator (its engine
	// halted, or its store failed), empty while it runs.
	Halted string `json:"halted,omitempty"`
}

// TxResponse answers POST /tx and GET /tx/{hash}.
type TxResponse struct {
	Hash string `json:"hash"` // hex
	// Status is submitted (async), accepted (sync), rejected, pending
	// (commit wait ran out), committed or dropped.
	Status string `json:"status"`
	// Height is the block that committed the transaction.
	Height uint64 `json:"height,omitempty"`
	// Code and Log are the application's verdict on a rejected
	// transaction; Log also says why one was dropped or is pending.
	Code uint32 `json:"code,omitempty"`
	Log  string `json:"log,omitempty"`
}

// TxBatchResponse answers POST /txs, with status 200, or 503 when the
// mempool filled up part way.
type TxBatchResponse struct {
	Accepted int `json:"accepted"`
	// Rejected lists the transactions not admitted, by position in the
	// batch; a full mempool rejects the rest of the batch with one entry.
	Rejected []TxBatchRejection `json:"rejected,omitempty"`
}

// TxBatchRejection is one transaction of a batch the mempool refused.
type TxBatchRejection struct {
	Index int    `json:"index"` // position in the batch, from 0
	Error string `json:"error"`
}

// BlockResponse answers GET /block/{height}: a committed block.
type BlockResponse struct {
	Height        uint64 `json:"height"`
	ID            string `json:"id"`        // hex
	ParentID      string `json:"parent_id"` // hex
	View          uint64 `json:"view"`
	Proposer      uint32 `json:"proposer"`
	ParentAppHash string `json:"parent_app_hash,omitempty"` // hex
	// AppHash is the application hash after executing this block (hex),
	// when the answering node executed it recently.
	AppHash string   `json:"app_hash,omitempty"`
	Txs     [][]byte `json:"txs"` // base64 in JSON
	// Proof is the protocol's commit certificate, in its own encoding.
	Proof []byte `json:"proof,omitempty"`
}

// ValidatorInfo is one entry of GET /validators, from the genesis.
type ValidatorInfo struct {
	Index   types.ValidatorIndex `json:"index"`
	Name    string               `json:"name,omitempty"`
	PubKey  string               `json:"pub_key"`
	PeerID  string               `json:"peer_id"`
	Address string               `json:"address,omitempty"`
}

// QueryResponse answers GET /query?key=...: the application's value for
// key at Height.
type QueryResponse struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Height uint64 `json:"height"`
}

// ErrorResponse is the body of an error answer (4xx or 5xx), except for
// the verdicts that have their own type (TxResponse with status rejected,
// TxBatchResponse).
type ErrorResponse struct {
	Error string `json:"error"`
}
