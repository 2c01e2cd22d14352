package node

import (
	"context"
	"time"

	"github.com/bftkit/bftkit/app"
	"github.com/bftkit/bftkit/p2p"
	"github.com/bftkit/bftkit/store"
	"github.com/bftkit/bftkit/types"
)

// runLoop is the Ready loop, the only goroutine that touches the engine.
// Each input (a verified message, a tick, a payload) is followed by
// draining Ready in the contract's order: persist, send, hand committed
// blocks to the executor, answer requests, Advance.
func (n *Node) runLoop() {
	ticker := time.NewTicker(n.cfg.TickInterval)
	defer ticker.Stop()
	seen := make(map[types.BlockID]time.Time) // when each proposal arrived, for commit latency
	inbound := n.net.Inbound()
	for {
		select {
		case <-n.ctx.Done():
			return
		case in := <-inbound:
			n.handleInbound(in, seen)
		case m := <-n.local:
			n.step(m, seen)
		case <-ticker.C:
			n.proto.engine.Tick()
			n.maybePropose(seen)
			n.publishStatus() // once a tick: /status may lag by one tick
		}
		for n.proto.engine.HasReady() {
			if err := n.handleReady(seen); err != nil {
				// The store could not make the safety state durable:
				// sending anything now could break the promise never
				// to sign conflicting messages. Stop the validator.
				n.log.Error("cannot persist; stopping the validator", "err", err)
				go func() { _ = n.Stop() }()
				return
			}
		}
	}
}

func (n *Node) handleInbound(in p2p.Inbound, seen map[types.BlockID]time.Time) {
	switch msg := in.Msg.(type) {
	case txBatch:
		select {
		case n.txIn <- msg:
		default: // the mempool is behind; peers still hold these txs
		}
	case types.Message:
		n.step(msg, seen)
	}
}

func (n *Node) step(m types.Message, seen map[types.BlockID]time.Time) {
	switch p := m.Payload.(type) {
	case *types.BlockRequest:
		n.blocks.request(p) // served from the store, off this goroutine
		return
	case *types.Proposal:
		n.noteProposal(p.Block, seen)
	}
	if err := n.proto.engine.Step(m); err != nil {
		n.log.Debug("engine rejected a message", "type", m.Payload.MsgType(), "from", m.From, "err", err)
	}
}

// noteProposal tells the mempool which transactions are in a proposal, so
// the next leader does not propose them again while this one is pending,
// and remembers when the block was first seen.
func (n *Node) noteProposal(b *types.Block, seen map[types.BlockID]time.Time) {
	id := b.ID()
	if _, ok := seen[id]; ok {
		return
	}
	if len(seen) >= maxSeenProposals { // only Byzantine leaders get here
		clear(seen)
	}
	seen[id] = time.Now()
	if len(b.Txs) > 0 {
		n.txsAbove = max(n.txsAbove, b.Height)
		n.mempool.MarkProposed(b.Height, txBytes(b.Txs))
	}
}

const maxSeenProposals = 4096

func (n *Node) handleReady(seen map[types.BlockID]time.Time) error {
	e := n.proto.engine
	rd := e.Ready()
	if rd.SafetyState != nil || len(rd.Blocks) > 0 || len(rd.Committed) > 0 {
		start := time.Now()
		if err := n.store.Persist(store.FromReady(&rd)); err != nil {
			return err
		}
		n.metrics.fsyncSeconds.Observe(time.Since(start).Seconds())
	}
	for _, m := range rd.Messages {
		if n.cfg.Observe != nil {
			n.cfg.Observe.Sent(m)
		}
		n.send(m, seen)
	}
	if len(rd.Committed) > 0 {
		if n.cfg.Observe != nil {
			for _, cb := range rd.Committed {
				n.cfg.Observe.Committed(cb)
			}
		}
		n.noteCommitted(rd.Committed, seen)
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
	n.maybePropose(seen)
	return nil
}

// maybePropose answers the engine's payload request now if there is work:
// transactions waiting, or a proposed block with transactions that needs
// the blocks after it to commit (HotStuff commits a block three blocks
// later). An idle chain instead proposes an empty block only every
// EmptyBlockInterval, rather than spinning through empty blocks as fast
// as the crypto allows.
func (n *Node) maybePropose(seen map[types.BlockID]time.Time) {
	req := n.payloadReq
	if req == nil {
		return
	}
	idle := time.Since(n.payloadSince) < n.cfg.EmptyBlockInterval
	if idle && !n.hasWork() {
		return
	}
	n.payloadReq = nil
	payload := n.payload(req)
	if err := n.proto.engine.Propose(payload); err != nil {
		n.log.Debug("engine refused the payload", "err", err)
	}
}

// hasWork reports whether a proposal now would carry or commit
// transactions.
func (n *Node) hasWork() bool {
	if txs, _ := n.mempool.Size(); txs > 0 {
		return true
	}
	return n.txsAbove > n.store.Height()
}

func (n *Node) noteCommitted(cbs []types.CommittedBlock, seen map[types.BlockID]time.Time) {
	now := time.Now()
	for _, cb := range cbs {
		if t, ok := seen[cb.ID]; ok {
			n.metrics.commitSeconds.Observe(now.Sub(t).Seconds())
		}
	}
	// Proposals at or below the committed height are decided: forget them.
	top := cbs[len(cbs)-1].Block.Height
	for id, t := range seen {
		if now.Sub(t) > time.Minute {
			delete(seen, id)
		}
	}
	n.metrics.height.Set(float64(top))
}

// send does the loop's bookkeeping for an outbound message, then
// transmits it.
func (n *Node) send(m types.Message, seen map[types.BlockID]time.Time) {
	switch p := m.Payload.(type) {
	case *types.Proposal:
		n.noteProposal(p.Block, seen)
	case *types.Timeout:
		n.metrics.viewTimeouts.Inc()
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

// payload answers the engine's request for transactions: reap from the
// mempool, let the application prepare the proposal, cap it.
func (n *Node) payload(req *types.PayloadRequest) types.ProposalPayload {
	txs := n.mempool.Reap(req.MaxTxs, req.MaxBytes)
	res, err := n.cfg.App.PrepareProposal(context.Background(), app.PrepareProposalRequest{
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
