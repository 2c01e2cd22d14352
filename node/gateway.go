package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bftkit/bftkit/api"
	"github.com/bftkit/bftkit/app"
	"github.com/bftkit/bftkit/driver"
	"github.com/bftkit/bftkit/p2p"
	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/types"
)

// processProposalTimeout bounds the application's ProcessProposal.
const processProposalTimeout = time.Second

// txBatch is a decoded batch from the transactions topic.
type txBatch struct{ txs [][]byte }

var errShuttingDown = errors.New("node is stopping")

// validate is the p2p Validator: it runs on the transport's goroutines for
// every inbound frame and gossip message. It decodes the message and hands
// it to the driver's gateway (sender binding, types, prechecks, bounded
// verification, ProcessProposal), so the Ready loop only runs protocol
// rules. Work that does not need the engine (block fetches, transaction
// batches) goes to its own goroutine here and never queues in front of
// consensus messages. A nil message with a nil error means the message was
// accepted and handled here.
func (n *Node) validate(from types.ValidatorIndex, ch p2p.Channel, data []byte) (msg any, err error) {
	defer func() {
		// The application and the verifier run on libp2p's goroutines,
		// which do not recover: a panic on one crafted message must not
		// take the validator down.
		if r := recover(); r != nil {
			n.metrics.rejected.WithLabelValues("panic").Inc()
			n.log.Error("panic while validating a message", "from", from, "panic", r)
			msg, err = nil, fmt.Errorf("panic: %v", r)
		}
	}()
	if n.ctx.Err() != nil {
		return nil, errShuttingDown
	}
	if ch == p2p.Txs {
		return nil, n.takeTxBatch(data)
	}
	m, err := types.DecodeMessage(data)
	if err != nil {
		n.metrics.rejected.WithLabelValues("decode").Inc()
		return nil, err
	}
	n.metrics.countIn(m.Payload.MsgType(), len(data))
	class, err := n.gateway.Check(from, ch == p2p.Proposals, m)
	if err != nil {
		reason := "gateway"
		var r *driver.Rejection
		if errors.As(err, &r) {
			reason = r.Reason
		}
		n.metrics.rejected.WithLabelValues(reason).Inc()
		return nil, err
	}
	if r, ok := m.Payload.(*types.BlockRequest); ok && class == protocol.Fetch {
		n.queueFetch(r)
		return nil, nil
	}
	return m, nil
}

// takeTxBatch decodes a batch from a peer and hands it to the mempool's
// intake goroutine; a full intake drops it (its txs are still held by
// the peers that gossiped them).
func (n *Node) takeTxBatch(data []byte) error {
	txs, err := api.DecodeTxBatch(data)
	if err != nil {
		n.metrics.rejected.WithLabelValues("tx_batch").Inc()
		return err
	}
	select {
	case n.txIn <- txBatch{txs: txs}:
	default:
		n.metrics.rejected.WithLabelValues("tx_intake_full").Inc()
	}
	return nil
}

// processProposal asks the application whether the proposed block is
// acceptable; a replica does not vote for a block its application refuses.
func (n *Node) processProposal(b *types.Block) error {
	id := b.ID()
	ctx, cancel := context.WithTimeout(n.ctx, processProposalTimeout)
	defer cancel()
	res, err := n.cfg.App.ProcessProposal(ctx, app.ProcessProposalRequest{
		Height: b.Height, BlockID: id[:], Proposer: uint32(b.Proposer), Txs: txBytes(b.Txs),
	})
	if err != nil {
		return fmt.Errorf("application: %w", err)
	}
	if !res.Accept {
		return fmt.Errorf("application rejected the block at height %d", b.Height)
	}
	return nil
}
