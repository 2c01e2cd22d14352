// Package app is the plug-in point for the replicated application: the
// state machine that bftkit's consensus feeds with ordered transactions.
//
// The interface follows the shape of ABCI 2.0 (CometBFT), trimmed to what
// bftkit's node calls:
//
//	Info            on start: the app reports its last height and app hash,
//	                so the node replays the committed blocks it lacks
//	InitChain       once, at height 0, with the genesis app state
//	CheckTx         for each transaction entering the mempool (and again,
//	                with Recheck, for those still there after a commit)
//	PrepareProposal the leader may reorder or drop reaped transactions
//	ProcessProposal every replica may reject a proposed block
//	FinalizeBlock   executes a committed block, in height order, no gaps
//	Commit          persists the state FinalizeBlock produced
//	Query           reads state, for clients
//
// The node calls the consensus methods (InitChain, FinalizeBlock, Commit)
// from one goroutine, in order. CheckTx, Query, PrepareProposal and
// ProcessProposal may be called concurrently with them and with each
// other: an implementation guards its own state.
//
// Embed BaseApplication to get defaults for the methods an app does not
// need. KVStore is a complete example.
package app

import (
	"context"
	"encoding/json"
)

// Application is a deterministic replicated state machine. Every replica
// that executes the same blocks in the same order must reach the same
// app hash; anything else (clocks, randomness, map iteration order) in
// FinalizeBlock forks the application even when consensus agrees.
type Application interface {
	Info(ctx context.Context, req InfoRequest) (InfoResponse, error)
	InitChain(ctx context.Context, req InitChainRequest) (InitChainResponse, error)
	CheckTx(ctx context.Context, req CheckTxRequest) (CheckTxResponse, error)
	PrepareProposal(ctx context.Context, req PrepareProposalRequest) (PrepareProposalResponse, error)
	ProcessProposal(ctx context.Context, req ProcessProposalRequest) (ProcessProposalResponse, error)
	FinalizeBlock(ctx context.Context, req FinalizeBlockRequest) (FinalizeBlockResponse, error)
	Commit(ctx context.Context) (CommitResponse, error)
	Query(ctx context.Context, req QueryRequest) (QueryResponse, error)
}

// CodeOK is the result code of an accepted transaction or query; any other
// code is an application-defined rejection, explained in Log.
const CodeOK uint32 = 0

// InfoRequest asks the app where its durable state stands.
type InfoRequest struct {
	// NodeVersion is the bftkit version, for the app's logs.
	NodeVersion string
}

// InfoResponse is the handshake the node replays from: it re-executes the
// committed blocks above LastHeight. LastHeight 0 means a fresh app that
// still needs InitChain.
type InfoResponse struct {
	Version     string
	LastHeight  uint64
	LastAppHash []byte
}

// InitChainRequest carries genesis to a fresh app.
type InitChainRequest struct {
	ChainID string
	// AppState is genesis' app_state, unchanged (may be empty).
	AppState json.RawMessage
}

// InitChainResponse reports the app hash at height 0.
type InitChainResponse struct {
	AppHash []byte
}

// CheckTxRequest asks whether a transaction may enter the mempool.
type CheckTxRequest struct {
	Tx []byte
	// Recheck is set when the tx was accepted before and the node asks
	// again after a commit changed the state.
	Recheck bool
}

// CheckTxResponse accepts (Code == CodeOK) or rejects a transaction.
type CheckTxResponse struct {
	Code uint32
	Log  string
}

// IsOK reports whether the transaction was accepted.
func (r CheckTxResponse) IsOK() bool { return r.Code == CodeOK }

// PrepareProposalRequest hands the leader's reaped transactions to the app.
type PrepareProposalRequest struct {
	Height uint64
	Txs    [][]byte
	// MaxTxBytes bounds the total size of the transactions returned.
	MaxTxBytes int
}

// PrepareProposalResponse lists the transactions to propose, in order.
// The node drops any beyond MaxTxBytes.
type PrepareProposalResponse struct {
	Txs [][]byte
}

// ProcessProposalRequest asks whether a proposed block is acceptable.
type ProcessProposalRequest struct {
	Height   uint64
	BlockID  []byte
	Proposer uint32
	Txs      [][]byte
}

// ProcessProposalResponse accepts or rejects a proposed block. A replica
// does not vote for a rejected block.
type ProcessProposalResponse struct {
	Accept bool
}

// FinalizeBlockRequest delivers one committed block for execution.
type FinalizeBlockRequest struct {
	Height   uint64
	BlockID  []byte
	Proposer uint32
	// Txs are the block's own transactions, shared with the consensus
	// engine, which keeps and serves the block: read them, copy what must
	// outlive the call, and never modify them. The same holds for the
	// transactions of ProcessProposalRequest.
	Txs [][]byte
}

// TxResult is the outcome of one transaction of a block. A failed
// transaction is still committed (it is in the agreed block); it just did
// not change the state.
type TxResult struct {
	Code uint32
	Log  string
}

// FinalizeBlockResponse reports per-transaction results, in block order,
// and the app hash the state will have once committed.
type FinalizeBlockResponse struct {
	TxResults []TxResult
	AppHash   []byte
}

// CommitResponse is returned once the state of the last finalized block is
// durable. After Commit returns, Info must report that block's height.
type CommitResponse struct{}

// QueryRequest reads application state.
type QueryRequest struct {
	Path string
	Data []byte
}

// QueryResponse answers a query at Height (the last committed height).
type QueryResponse struct {
	Code   uint32
	Log    string
	Key    []byte
	Value  []byte
	Height uint64
}
