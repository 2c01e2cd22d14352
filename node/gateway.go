package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bftkit/bftkit/api"
	"github.com/bftkit/bftkit/app"
	"github.com/bftkit/bftkit/p2p"
	"github.com/bftkit/bftkit/types"
)

// processProposalTimeout bounds the application's ProcessProposal.
const processProposalTimeout = time.Second

// maxExpectedBlocks caps the block responses a peer may owe us.
const maxExpectedBlocks = 4 * types.MaxBlockRequestAncestors

// txBatch is a decoded batch from the transactions topic.
type txBatch struct{ txs [][]byte }

// gateway is the p2p Validator: every inbound message is decoded, checked
// against its authenticated sender, verified and (for proposals) offered
// to the application here, on the transport's goroutines, before the Ready
// loop sees it. The loop then only runs protocol rules. Work that does not
// need the engine (block requests, transaction batches) is handed to its
// own goroutine here and never queues in front of consensus messages.
type gateway struct {
	n       *Node
	verify  func(types.Message) error
	sem     chan struct{} // bounds concurrent signature checks
	metrics *metrics
	// expected counts, per peer, the block responses this node asked for
	// and has not received: unsigned responses are accepted only against
	// it, so a peer cannot make the loop hash blocks nobody asked for.
	expected []atomic.Int64
	// farFuture budgets, per proposer, proposals beyond the view window.
	// A replica that fell behind needs them (their QC moves it to the
	// current view), but only one; a Byzantine leader could otherwise
	// sign endless proposals for its own future views, each costing every
	// replica a verification.
	farMu     sync.Mutex
	farFuture []tokenBucket
}

// farFutureProposalsPerSecond is each proposer's budget of proposals
// beyond the view window.
const farFutureProposalsPerSecond = 4

func newGateway(n *Node) *gateway {
	return &gateway{
		n: n, verify: n.proto.verify, metrics: n.metrics,
		sem:       make(chan struct{}, n.cfg.VerifyWorkers),
		expected:  make([]atomic.Int64, n.cfg.Set.N()),
		farFuture: make([]tokenBucket, n.cfg.Set.N()),
	}
}

var (
	errFromSelf      = errors.New("message claims to come from this validator")
	errUnrequested   = errors.New("block response that was not asked for")
	errNotLeader     = errors.New("proposal from a validator that does not lead its view")
	errFarFuture     = errors.New("too many proposals for views beyond the window")
	errShuttingDown  = errors.New("node is stopping")
	errWrongProtocol = errors.New("message of another protocol")
	errStaleView     = errors.New("view-change or new-view for a view this node left")
)

// validate is the p2p.Validator. A nil message with a nil error means the
// message was accepted and handled here.
func (g *gateway) validate(from types.ValidatorIndex, ch p2p.Channel, data []byte) (msg any, err error) {
	defer func() {
		// The application and the verifier run on libp2p's goroutines,
		// which do not recover: a panic on one crafted message must not
		// take the validator down.
		if r := recover(); r != nil {
			g.metrics.rejected.WithLabelValues("panic").Inc()
			g.n.log.Error("panic while validating a message", "from", from, "panic", r)
			msg, err = nil, fmt.Errorf("panic: %v", r)
		}
	}()
	if g.n.ctx.Err() != nil {
		return nil, errShuttingDown
	}
	if ch == p2p.Txs {
		return nil, g.takeTxBatch(data)
	}
	m, err := types.DecodeMessage(data)
	if err != nil {
		g.metrics.rejected.WithLabelValues("decode").Inc()
		return nil, err
	}
	if err := g.checkSender(from, ch, m); err != nil {
		g.metrics.rejected.WithLabelValues("sender").Inc()
		return nil, err
	}
	g.metrics.countIn(m.Payload.MsgType(), len(data))
	if !g.n.proto.accepts(m.Payload.MsgType()) {
		// Another protocol's message (a misconfigured peer): refused
		// before any precheck, verification or routing touches it.
		g.metrics.rejected.WithLabelValues("protocol").Inc()
		return nil, fmt.Errorf("%w: %v in %s mode", errWrongProtocol, m.Payload.MsgType(), g.n.proto.name)
	}
	switch p := m.Payload.(type) {
	case *types.BlockRequest:
		g.n.blocks.request(p)
		return nil, nil
	case *types.PBFTFetch:
		g.n.blocks.fetch(p)
		return nil, nil
	case *types.RaftFetch:
		g.n.blocks.fetchRaft(p)
		return nil, nil
	case *types.BlockResponse, *types.PBFTCommitted:
		// Only as many as this node asked the peer for: each costs a
		// verification (a committed block's certificate) or a hash.
		if g.expected[from].Add(-1) < 0 {
			g.expected[from].Add(1)
			g.metrics.rejected.WithLabelValues("unrequested").Inc()
			return nil, errUnrequested
		}
	case *types.Proposal, *types.PBFTPrePrepare:
		if err := g.precheckProposal(proposedBlock(p)); err != nil {
			g.metrics.rejected.WithLabelValues("proposal").Inc()
			return nil, err
		}
	case *types.PBFTViewChange:
		if err := g.precheckViewChange(p.View, p.Replica); err != nil {
			g.metrics.rejected.WithLabelValues("view_change").Inc()
			return nil, err
		}
	case *types.PBFTNewView:
		if err := g.precheckViewChange(p.View, p.Primary); err != nil {
			g.metrics.rejected.WithLabelValues("view_change").Inc()
			return nil, err
		}
	}
	if err := g.verifyBounded(m); err != nil {
		g.metrics.rejected.WithLabelValues("verify").Inc()
		return nil, fmt.Errorf("%v from %d: %w", m.Payload.MsgType(), from, err)
	}
	if b := proposedBlock(m.Payload); b != nil {
		if err := g.processProposal(b); err != nil {
			g.metrics.rejected.WithLabelValues("app").Inc()
			return nil, err
		}
	}
	return m, nil
}

// expectBlocks records that this node asked peer for up to k blocks.
func (g *gateway) expectBlocks(peer types.ValidatorIndex, k uint32) {
	if int(peer) >= len(g.expected) {
		return
	}
	if v := g.expected[peer].Add(int64(k)); v > maxExpectedBlocks {
		g.expected[peer].Store(maxExpectedBlocks)
	}
}

// takeTxBatch decodes a batch from a peer and hands it to the mempool's
// intake goroutine; a full intake drops it (its txs are still held by
// the peers that gossiped them).
func (g *gateway) takeTxBatch(data []byte) error {
	txs, err := api.DecodeTxBatch(data)
	if err != nil {
		g.metrics.rejected.WithLabelValues("tx_batch").Inc()
		return err
	}
	select {
	case g.n.txIn <- txBatch{txs: txs}:
	default:
		g.metrics.rejected.WithLabelValues("tx_intake_full").Inc()
	}
	return nil
}

// checkSender binds the message to the transport's authenticated peer: on
// a direct stream the peer sent it; on gossip the peer authored it (the
// relay does not matter). Only proposals travel by gossip.
func (g *gateway) checkSender(from types.ValidatorIndex, ch p2p.Channel, m types.Message) error {
	switch {
	case m.From == g.n.cfg.Self:
		return errFromSelf
	case m.From != from:
		return fmt.Errorf("%v signed by %d arrived from peer %d", m.Payload.MsgType(), m.From, from)
	case ch == p2p.Proposals && !gossiped(m.Payload.MsgType()):
		return fmt.Errorf("%v on the proposals topic", m.Payload.MsgType())
	}
	return nil
}

// precheckProposal rejects, before any signature check and before gossip
// relays it, a proposal whose proposer does not lead its view, and
// proposals beyond the view window past a small per-proposer budget.
func (g *gateway) precheckProposal(b *types.Block) error {
	if g.n.proto.leader(b.View) != b.Proposer {
		return errNotLeader
	}
	if b.View <= g.n.view.Load()+g.n.proto.viewWindow || int(b.Proposer) >= len(g.farFuture) {
		return nil
	}
	g.farMu.Lock()
	defer g.farMu.Unlock()
	if !g.farFuture[b.Proposer].take(time.Now(), farFutureProposalsPerSecond, 1) {
		return errFarFuture
	}
	return nil
}

// precheckViewChange rejects, before their many signatures are verified,
// PBFT view-changes and new-views for views below this node's (the engine
// drops them anyway), and those beyond the view window past the sender's
// far-future budget: a faulty replica could otherwise sign endless valid
// view-changes for ever higher views, each costing the gateway hundreds
// of signature checks.
func (g *gateway) precheckViewChange(view uint64, sender types.ValidatorIndex) error {
	current := g.n.view.Load()
	if view < current {
		return errStaleView
	}
	if view <= current+g.n.proto.viewWindow || int(sender) >= len(g.farFuture) {
		return nil
	}
	g.farMu.Lock()
	defer g.farMu.Unlock()
	if !g.farFuture[sender].take(time.Now(), farFutureProposalsPerSecond, 1) {
		return errFarFuture
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
func (g *gateway) processProposal(b *types.Block) error {
	id := b.ID()
	ctx, cancel := context.WithTimeout(g.n.ctx, processProposalTimeout)
	defer cancel()
	res, err := g.n.cfg.App.ProcessProposal(ctx, app.ProcessProposalRequest{
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

// gossiped reports whether broadcasts of type t travel by gossip (so that
// relays can repair a lossy link) rather than by direct streams.
func gossiped(t types.MsgType) bool {
	return t == types.MsgHotStuffProposal || t == types.MsgPBFTPrePrepare
}
