package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bftkit/bftkit/app"
	"github.com/bftkit/bftkit/p2p"
	"github.com/bftkit/bftkit/types"
)

// txBatch is a decoded batch from the transactions topic.
type txBatch struct{ txs [][]byte }

// gateway is the p2p Validator: every inbound message is decoded, checked
// against its authenticated sender, verified and (for proposals) offered
// to the application here, on the transport's goroutines, before the Ready
// loop sees it. The loop then only runs protocol rules.
type gateway struct {
	self    types.ValidatorIndex
	verify  func(types.Message) error
	app     app.Application
	sem     chan struct{} // bounds concurrent signature checks
	metrics *metrics
}

func newGateway(self types.ValidatorIndex, verify func(types.Message) error, a app.Application, workers int, m *metrics) *gateway {
	return &gateway{self: self, verify: verify, app: a, sem: make(chan struct{}, workers), metrics: m}
}

var errFromSelf = errors.New("message claims to come from this validator")

func (g *gateway) validate(from types.ValidatorIndex, ch p2p.Channel, data []byte) (any, error) {
	if ch == p2p.Txs {
		txs, err := decodeTxBatch(data)
		if err != nil {
			return nil, err
		}
		return txBatch{txs: txs}, nil
	}
	m, err := types.DecodeMessage(data)
	if err != nil {
		g.metrics.rejected.WithLabelValues("decode").Inc()
		return nil, err
	}
	g.metrics.countIn(m.Payload.MsgType(), len(data))
	if err := g.checkSender(from, ch, m); err != nil {
		g.metrics.rejected.WithLabelValues("sender").Inc()
		return nil, err
	}
	if err := g.verifyBounded(m); err != nil {
		g.metrics.rejected.WithLabelValues("signature").Inc()
		return nil, fmt.Errorf("%v from %d: %w", m.Payload.MsgType(), from, err)
	}
	if p, ok := m.Payload.(*types.Proposal); ok {
		if err := g.processProposal(p); err != nil {
			g.metrics.rejected.WithLabelValues("app").Inc()
			return nil, err
		}
	}
	return m, nil
}

// checkSender binds the message to the transport's authenticated peer: on
// a direct stream the peer sent it; on gossip the peer authored it (the
// relay does not matter). Only proposals travel by gossip.
func (g *gateway) checkSender(from types.ValidatorIndex, ch p2p.Channel, m types.Message) error {
	switch {
	case m.From == g.self:
		return errFromSelf
	case m.From != from:
		return fmt.Errorf("%v signed by %d arrived from peer %d", m.Payload.MsgType(), m.From, from)
	case ch == p2p.Proposals && !gossiped(m.Payload.MsgType()):
		return fmt.Errorf("%v on the proposals topic", m.Payload.MsgType())
	}
	return nil
}

func (g *gateway) verifyBounded(m types.Message) error {
	g.sem <- struct{}{}
	defer func() { <-g.sem }()
	start := time.Now()
	err := g.verify(m)
	g.metrics.verifySeconds.Observe(time.Since(start).Seconds())
	return err
}

// processProposal asks the application whether the proposed block is
// acceptable; a replica does not vote for a block its application refuses.
func (g *gateway) processProposal(p *types.Proposal) error {
	b := p.Block
	txs := make([][]byte, len(b.Txs))
	for i, tx := range b.Txs {
		txs[i] = tx
	}
	id := b.ID()
	res, err := g.app.ProcessProposal(context.Background(), app.ProcessProposalRequest{
		Height: b.Height, BlockID: id[:], Proposer: uint32(b.Proposer), Txs: txs,
	})
	if err != nil {
		return fmt.Errorf("application: %w", err)
	}
	if !res.Accept {
		return fmt.Errorf("application rejected the block at height %d", b.Height)
	}
	return nil
}

// gossiped reports whether broadcasts of type t travel by gossip (so that
// relays can repair a lossy link) rather than by direct streams.
func gossiped(t types.MsgType) bool {
	return t == types.MsgHotStuffProposal || t == types.MsgPBFTPrePrepare
}
