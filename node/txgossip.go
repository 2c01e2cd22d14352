package node

import (
	"time"

	"github.com/bftkit/bftkit/api"
	"github.com/bftkit/bftkit/mempool"
	"github.com/bftkit/bftkit/p2p"
)

// runTxGossip publishes locally submitted transactions in batches, at
// most one batch per GossipInterval: gossipsub costs about a millisecond
// of CPU per message here and drops silently under bursts, so a steady
// trickle of large batches is what it handles well. A batch that does not
// fit the publish queue is lost to gossip only: its txs stay in this
// mempool and are proposed when this node leads.
func (n *Node) runTxGossip() {
	ticker := time.NewTicker(n.cfg.GossipInterval)
	defer ticker.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-ticker.C:
		}
		batch := n.mempool.NextGossipBatch()
		if len(batch) == 0 {
			continue
		}
		if err := n.net.Publish(p2p.Txs, api.EncodeTxBatch(batch)); err != nil {
			n.log.Debug("tx batch not gossiped", "txs", len(batch), "err", err)
		}
	}
}

// runTxIntake adds batches from peers to the mempool. CheckTx runs here,
// never on the Ready loop. Rejections are expected (duplicates above all:
// a tx may arrive from several peers) and are counted by the mempool.
func (n *Node) runTxIntake() {
	for {
		select {
		case <-n.ctx.Done():
			return
		case b := <-n.txIn:
			for _, tx := range b.txs {
				_, _ = n.mempool.Add(n.ctx, tx, mempool.Peer)
			}
		}
	}
}
