package node

import (
	"encoding/hex"

	"github.com/bftkit/bftkit/types"
)

// Version is the node software version reported to the application and
// over the API.
const Version = "0.1.0-dev"

// Status is what GET /status reports. The Ready loop publishes a fresh
// one every tick, so readers never touch the engine.
type Status struct {
	ChainID   string               `json:"chain_id"`
	Protocol  string               `json:"protocol"`
	Validator types.ValidatorIndex `json:"validator_index"`
	// Height is the last committed height; AppHeight the last the
	// application executed (it may lag by a few blocks).
	Height      uint64                 `json:"height"`
	LastBlockID string                 `json:"last_block_id"`
	AppHeight   uint64                 `json:"app_height"`
	AppHash     string                 `json:"app_hash"`
	View        uint64                 `json:"view"`
	Leader      types.ValidatorIndex   `json:"leader"`
	Peers       []types.ValidatorIndex `json:"peers"`
	MempoolTxs  int                    `json:"mempool_txs"`
	Validators  int                    `json:"validators"`
	// Quorum is how many validators the protocol needs to commit: 2f+1
	// for HotStuff and PBFT, a majority for Raft.
	Quorum int `json:"quorum"`
}

func (n *Node) publishStatus() {
	view := n.proto.view()
	height := n.store.Height()
	var last string
	if height > 0 {
		last = n.lastCommittedID.Hex()
	}
	txs, _ := n.mempool.Size()
	n.metrics.view.Set(float64(view))
	peers := n.net.ConnectedPeers()
	if peers == nil {
		peers = []types.ValidatorIndex{} // [] in JSON, not null
	}
	n.status.Store(&Status{
		ChainID: n.cfg.Genesis.ChainID, Protocol: n.proto.name, Validator: n.cfg.Self,
		Height: height, LastBlockID: last,
		View: view, Leader: n.proto.leader(view),
		Peers: peers, MempoolTxs: txs, Validators: n.cfg.Set.N(), Quorum: n.proto.quorum,
	})
}

// Status returns the latest published status.
func (n *Node) Status() Status {
	s := *n.status.Load()
	// The application advances on its own goroutine; read it fresh.
	app := n.exec.state.Load()
	s.AppHeight, s.AppHash = app.height, hex.EncodeToString(app.hash)
	return s
}
