package node

import (
	"context"
	"time"

	"github.com/bftkit/bftkit/app"
	"github.com/bftkit/bftkit/driver"
	"github.com/bftkit/bftkit/p2p"
	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/store"
	"github.com/bftkit/bftkit/types"
)

// prepareTimeout bounds the application's PrepareProposal, which runs on
// the Ready loop: a hung application must not stall consensus forever.
const prepareTimeout = 500 * time.Millisecond

// runLoop is the Ready loop, the only goroutine that touches the engine,
// through the driver: each input (a verified message, a tick) is followed
// by the driver carrying out Ready in the contract's order. A driver
// error (a failed persist, a halted engine) stops consensus on this
// validator.
func (n *Node) runLoop() {
	ticker := time.NewTicker(n.cfg.TickInterval)
	defer ticker.Stop()
	inbound := n.net.Inbound()
	if err := n.driver.Drain(); err != nil {
		n.halt(err)
		return
	}
	for {
		var err error
		select {
		case <-n.ctx.Done():
			return
		case in := <-inbound:
			if m, ok := in.Msg.(types.Message); ok {
				n.noteArrival(m)
				err = n.driver.Step(m)
			}
		case <-ticker.C:
			err = n.driver.Tick()
			n.publishStatus() // once a tick: /status may lag by one tick
		}
		if err != nil {
			n.halt(err)
			return
		}
	}
}

// noteArrival starts the proposal-to-commit clock of a proposal.
func (n *Node) noteArrival(m types.Message) {
	if c, _ := n.desc.Class(m.Payload.MsgType()); c == protocol.Proposal {
		if b := driver.BlockOf(m.Payload); b != nil {
			n.proposals.arrived(b)
		}
	}
}

// world is the node as its driver sees it: the block store is the
// storage, libp2p the transport, the executor the application, the
// mempool the payload source.
type world struct{ n *Node }

// Persist makes the Ready's safety state, blocks and commits durable in
// one synced batch. Blocks the engine keeps passed its rules (proposer,
// height, parent): only now may their transactions be withheld from the
// next proposals.
func (w world) Persist(rd *types.Ready) error {
	n := w.n
	start := time.Now()
	if err := n.store.Persist(store.FromReady(rd)); err != nil {
		return err
	}
	n.metrics.fsyncSeconds.Observe(time.Since(start).Seconds())
	for _, b := range rd.Blocks {
		if len(b.Txs) > 0 {
			n.mempool.MarkProposed(b.Height, txBytes(b.Txs))
		}
	}
	return nil
}

// Send does the loop's bookkeeping for an outbound message, then
// transmits it.
func (w world) Send(m types.Message, class protocol.Class) {
	n := w.n
	switch class {
	case protocol.Proposal:
		if b := driver.BlockOf(m.Payload); b != nil {
			n.proposals.arrived(b)
		}
	case protocol.Timeout, protocol.ViewChange:
		if view, ok := driver.ViewOf(m.Payload); ok {
			n.noteViewTimeout(view)
		}
	}
	if n.cfg.Observe != nil {
		n.cfg.Observe.Sent(m)
	}
	n.transmit(m, class)
}

// Commit records the commits and wakes the executor, which applies the
// blocks (already in the store) on its own goroutine.
func (w world) Commit(cbs []types.CommittedBlock) error {
	n := w.n
	for _, cb := range cbs {
		if n.cfg.Observe != nil {
			n.cfg.Observe.Committed(cb)
		}
		if d, ok := n.proposals.committed(cb.Block); ok {
			n.metrics.commitSeconds.Observe(d.Seconds())
		}
	}
	last := cbs[len(cbs)-1]
	n.lastCommittedID = last.ID
	n.proposals.forgetUpTo(last.Block.Height)
	n.metrics.height.Set(float64(last.Block.Height))
	n.exec.notify()
	return nil
}

// Evidence is counted and logged.
func (w world) Evidence(evs []*types.DoubleSign) {
	for _, ev := range evs {
		w.n.metrics.evidence.Inc()
		w.n.log.Warn("double-sign evidence", "evidence", ev.String())
	}
}

// Waiting reports whether the mempool holds transactions.
func (w world) Waiting() bool {
	txs, _ := w.n.mempool.Size()
	return txs > 0
}

// Payload answers the engine's request for transactions: reap from the
// mempool, let the application prepare the proposal, cap it.
func (w world) Payload(req *types.PayloadRequest) types.ProposalPayload {
	n := w.n
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

// noteViewTimeout counts a view this node gave up on; resends of the same
// timeout or view-change are not new view changes.
func (n *Node) noteViewTimeout(view uint64) {
	if view > n.lastTimeoutView {
		n.lastTimeoutView = view
		n.metrics.viewTimeouts.Inc()
	}
}

// transmit encodes m and hands it to the transport: proposals by gossip,
// other broadcasts and unicasts by direct streams. Safe on any goroutine.
func (n *Node) transmit(m types.Message, class protocol.Class) {
	t := m.Payload.MsgType()
	data, err := types.EncodeMessage(m)
	if err != nil {
		n.log.Error("cannot encode an engine message", "type", t, "err", err)
		return
	}
	n.metrics.countOut(t, len(data))
	switch {
	case m.Broadcast && class == protocol.Proposal:
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
