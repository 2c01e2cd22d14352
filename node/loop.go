package node

import (
	"context"
	"time"

	"github.com/bftkit/bftkit/app"
	"github.com/bftkit/bftkit/p2p"
	"github.com/bftkit/bftkit/store"
	"github.com/bftkit/bftkit/types"
)

// prepareTimeout bounds the application's PrepareProposal, which runs on
// the Ready loop: a hung application must not stall consensus forever.
const prepareTimeout = 500 * time.Millisecond

// runLoop is the Ready loop, the only goroutine that touches the engine.
// Each input (a verified message, a tick, a payload) is followed by
// draining Ready in the contract's order: persist, send, hand committed
// blocks to the executor, answer requests, Advance.
func (n *Node) runLoop() {
	ticker := time.NewTicker(n.cfg.TickInterval)
	defer ticker.Stop()
	inbound := n.net.Inbound()
	for {
		select {
		case <-n.ctx.Done():
			return
		case in := <-inbound:
			if m, ok := in.Msg.(types.Message); ok {
				n.step(m)
			}
		case m := <-n.local:
			n.step(m)
		case <-ticker.C:
			n.proto.engine.Tick()
			n.maybePropose()
			n.publishStatus() // once a tick: /status may lag by one tick
		}
		for n.proto.engine.HasReady() {
			if err := n.handleReady(); err != nil {
				// The store could not make the safety state durable:
				// sending anything now could break the promise never
				// to sign conflicting messages. Stop the validator.
				n.fail(err)
				return
			}
		}
		n.view.Store(n.proto.view())
	}
}

func (n *Node) step(m types.Message) {
	if b := proposedBlock(m.Payload); b != nil {
		n.proposals.arrived(b)
	}
	if err := n.proto.engine.Step(m); err != nil {
		n.log.Debug("engine rejected a message", "type", m.Payload.MsgType(), "from", m.From, "err", err)
	}
}

func (n *Node) handleReady() error {
	e := n.proto.engine
	rd := e.Ready()
	if rd.SafetyState != nil || len(rd.Blocks) > 0 || len(rd.Committed) > 0 {
		start := time.Now()
		if err := n.store.Persist(store.FromReady(&rd)); err != nil {
			return err
		}
		n.metrics.fsyncSeconds.Observe(time.Since(start).Seconds())
	}
	// Blocks the engine keeps passed its rules (proposer, height, parent):
	// only now may their transactions be withheld from the next proposals.
	for _, b := range rd.Blocks {
		n.markProposed(b)
	}
	for _, m := range rd.Messages {
		if n.cfg.Observe != nil {
			n.cfg.Observe.Sent(m)
		}
		n.send(m)
	}
	if len(rd.Committed) > 0 {
		n.noteCommitted(rd.Committed)
		n.exec.notify()
	}
	for _, ev := range rd.Evidence {
		n.metrics.evidence.Inc()
		n.log.Warn("double-sign evidence", "evidence", ev.String())
	}
	if rd.PayloadRequest != nil {
		n.payloadReq, n.payloadSince = rd.PayloadRequest, time.Now()
	}
	e.Advance(rd)
	n.maybePropose()
	return nil
}

// markProposed tells the mempool which transactions are in a block the
// engine accepted, so that the next leader does not propose them again
// while this block is pending (HotStuff proposes the child before the
// parent commits), and notes that the chain must keep moving until the
// block commits.
func (n *Node) markProposed(b *types.Block) {
	if len(b.Txs) == 0 {
		return
	}
	n.txsAbove = max(n.txsAbove, b.Height)
	n.mempool.MarkProposed(b.Height, txBytes(b.Txs))
}

func (n *Node) noteCommitted(cbs []types.CommittedBlock) {
	for _, cb := range cbs {
		if n.cfg.Observe != nil {
			n.cfg.Observe.Committed(cb)
		}
		if d, ok := n.proposals.committed(cb.Block); ok {
			n.metrics.commitSeconds.Observe(d.Seconds())
		}
	}
	last := cbs[len(cbs)-1]
	top := last.Block.Height
	n.lastCommittedID = last.ID
	n.proposals.forgetUpTo(top)
	n.metrics.height.Set(float64(top))
}

// send does the loop's bookkeeping for an outbound message, then
// transmits it.
func (n *Node) send(m types.Message) {
	if b := proposedBlock(m.Payload); b != nil {
		n.proposals.arrived(b)
	}
	switch p := m.Payload.(type) {
	case *types.Timeout:
		n.noteViewTimeout(p.View)
	case *types.PBFTViewChange:
		n.noteViewTimeout(p.View)
	case *types.BlockRequest:
		n.gateway.expectBlocks(m.To, p.Ancestors)
	case *types.PBFTFetch:
		n.gateway.expectBlocks(m.To, p.Count)
	case *types.RaftFetch:
		n.gateway.expectBlocks(m.To, p.Count)
	}
	if !m.Broadcast && m.To == n.cfg.Self {
		select {
		case n.local <- m:
		default:
		}
		return
	}
	n.transmit(m)
}

// noteViewTimeout counts a view this node gave up on; resends of the same
// timeout or view-change are not new view changes.
func (n *Node) noteViewTimeout(view uint64) {
	if view > n.lastTimeoutView {
		n.lastTimeoutView = view
		n.metrics.viewTimeouts.Inc()
	}
}

// proposedBlock is the block a proposal or pre-prepare carries, or nil.
func proposedBlock(p types.Payload) *types.Block {
	switch m := p.(type) {
	case *types.Proposal:
		return m.Block
	case *types.PBFTPrePrepare:
		return m.Block
	}
	return nil
}

// transmit encodes m and hands it to the transport: proposals by gossip,
// other broadcasts and unicasts by direct streams. Safe on any goroutine.
func (n *Node) transmit(m types.Message) {
	t := m.Payload.MsgType()
	data, err := types.EncodeMessage(m)
	if err != nil {
		n.log.Error("cannot encode an engine message", "type", t, "err", err)
		return
	}
	n.metrics.countOut(t, len(data))
	switch {
	case m.Broadcast && gossiped(t):
		err = n.net.Publish(p2p.Proposals, data)
	case m.Broadcast:
		n.net.SendAll(data)
	default:
		err = n.net.Send(m.To, data)
	}
	if err != nil {
		n.log.Debug("send failed", "type", t, "to", m.To, "err", err)
	}
}

// maybePropose answers the engine's payload request now if there is work:
// transactions waiting, or a proposed block with transactions that needs
// the blocks after it to commit (HotStuff commits a block three blocks
// later). An idle chain instead proposes an empty block only every
// EmptyBlockInterval, rather than spinning through empty blocks as fast
// as the crypto allows.
func (n *Node) maybePropose() {
	req := n.payloadReq
	if req == nil {
		return
	}
	tooSoon := time.Since(n.payloadSince) < n.cfg.EmptyBlockInterval
	if tooSoon && !n.hasWork() {
		return
	}
	n.payloadReq = nil
	if err := n.proto.engine.Propose(n.payload(req)); err != nil {
		n.log.Debug("engine refused the payload", "err", err)
	}
}

// hasWork reports whether a proposal now would carry or commit
// transactions.
func (n *Node) hasWork() bool {
	if txs, _ := n.mempool.Size(); txs > 0 {
		return true
	}
	return n.proto.commitsNeedChildren && n.txsAbove > n.store.Height()
}

// payload answers the engine's request for transactions: reap from the
// mempool, let the application prepare the proposal, cap it.
func (n *Node) payload(req *types.PayloadRequest) types.ProposalPayload {
	txs := n.mempool.Reap(req.MaxTxs, req.MaxBytes)
	ctx, cancel := context.WithTimeout(n.ctx, prepareTimeout)
	defer cancel()
	res, err := n.cfg.App.PrepareProposal(ctx, app.PrepareProposalRequest{
		Height: req.Height, Txs: txs, MaxTxBytes: req.MaxBytes,
	})
	if err != nil {
		n.log.Warn("PrepareProposal failed; proposing the reaped transactions", "err", err)
		res.Txs = txs
	}
	return types.ProposalPayload{View: req.View, Txs: capTxs(res.Txs, req.MaxTxs, req.MaxBytes)}
}

// capTxs keeps the longest prefix of txs within the limits, whatever the
// application returned.
func capTxs(txs [][]byte, maxTxs, maxBytes int) []types.Tx {
	out := make([]types.Tx, 0, min(len(txs), maxTxs))
	size := 0
	for _, tx := range txs {
		if len(out) == maxTxs || size+len(tx) > maxBytes || len(tx) == 0 || len(tx) > types.MaxTxBytes {
			break
		}
		size += len(tx)
		out = append(out, tx)
	}
	return out
}

func txBytes(txs []types.Tx) [][]byte {
	out := make([][]byte, len(txs))
	for i, tx := range txs {
		out[i] = tx
	}
	return out
}
