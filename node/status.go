package node

import (
	"encoding/hex"

	"github.com/bftkit/bftkit/api"
	"github.com/bftkit/bftkit/types"
)

// Version is the node software version reported to the application and
// over the API.
const Version = "0.1.0-dev"

func (n *Node) publishStatus() {
	view, leader := n.driver.Position()
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
	var halted string
	if err := n.Halted(); err != nil {
		halted = err.Error()
	}
	n.status.Store(&api.Status{
		ChainID: n.cfg.Genesis.ChainID, Protocol: n.desc.Name, Validator: n.cfg.Self,
		Height: height, LastBlockID: last,
		View: view, Leader: leader,
		Peers: peers, MempoolTxs: txs, Validators: n.cfg.Set.N(), Quorum: n.desc.Quorum(n.cfg.Set.N()),
		Halted: halted,
	})
}

// Status returns the latest published status, what GET /status
// reports. The Ready loop publishes a fresh one every tick, so readers
// never touch the engine.
func (n *Node) Status() api.Status {
	s := *n.status.Load()
	// The application advances on its own goroutine; read it fresh.
	app := n.exec.state.Load()
	s.AppHeight, s.AppHash = app.height, hex.EncodeToString(app.hash)
	return s
}
