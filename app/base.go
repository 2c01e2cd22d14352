package app

import "context"

// BaseApplication implements every method with a harmless default: accept
// every transaction and block, execute nothing, report height 0. Embed it
// and override what the app needs.
type BaseApplication struct{}

var _ Application = BaseApplication{}

// Info reports a fresh app.
func (BaseApplication) Info(context.Context, InfoRequest) (InfoResponse, error) {
	return InfoResponse{}, nil
}

// InitChain ignores the genesis app state.
func (BaseApplication) InitChain(context.Context, InitChainRequest) (InitChainResponse, error) {
	return InitChainResponse{}, nil
}

// CheckTx accepts every transaction.
func (BaseApplication) CheckTx(context.Context, CheckTxRequest) (CheckTxResponse, error) {
	return CheckTxResponse{Code: CodeOK}, nil
}

// PrepareProposal proposes the reaped transactions unchanged.
func (BaseApplication) PrepareProposal(_ context.Context, req PrepareProposalRequest) (PrepareProposalResponse, error) {
	return PrepareProposalResponse{Txs: req.Txs}, nil
}

// ProcessProposal accepts every block.
func (BaseApplication) ProcessProposal(context.Context, ProcessProposalRequest) (ProcessProposalResponse, error) {
	return ProcessProposalResponse{Accept: true}, nil
}

// FinalizeBlock executes nothing and reports success for each transaction.
func (BaseApplication) FinalizeBlock(_ context.Context, req FinalizeBlockRequest) (FinalizeBlockResponse, error) {
	return FinalizeBlockResponse{TxResults: make([]TxResult, len(req.Txs))}, nil
}

// Commit has nothing to persist.
func (BaseApplication) Commit(context.Context) (CommitResponse, error) {
	return CommitResponse{}, nil
}

// Query finds nothing.
func (BaseApplication) Query(context.Context, QueryRequest) (QueryResponse, error) {
	return QueryResponse{Code: 1, Log: "this application answers no queries"}, nil
}
