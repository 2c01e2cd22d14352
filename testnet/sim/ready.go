package sim

import (
	"fmt"

	"github.com/bftkit/bftkit/types"
)

// halter is an engine that can tell it stopped because it decided a block
// conflicting with what it committed: a safety violation it caught itself
// before applying it.
type halter interface{ Halted() bool }

// processReady carries out n's Ready in the order the contract demands:
// durable state first, then messages, then commits, then requests.
func (s *Sim) processReady(n *node) {
	for round := 0; n.engine.HasReady(); round++ {
		if round == maxReadyRounds {
			s.fail(n.id, fmt.Sprintf("engine still has work after %d Ready rounds from one input", maxReadyRounds))
			return
		}
		rd := n.engine.Ready()
		if check := s.cfg.Protocol.CheckReady; check != nil && n.honest() {
			if err := check(s.verifier, n.durable.SafetyState, &rd); err != nil {
				s.fail(n.id, fmt.Sprintf("safety state: %v", err))
				return
			}
		}
		s.persist(n, &rd)
		for _, m := range rd.Messages {
			s.send(n, m)
		}
		for _, b := range rd.Committed {
			if !s.apply(n, b) {
				return
			}
		}
		n.engine.Advance(rd)
		if h, ok := n.engine.(halter); ok && n.honest() && h.Halted() {
			s.fail(n.id, "the engine decided a block that conflicts with its committed chain, and halted")
			return
		}
		if rd.PayloadRequest != nil {
			s.propose(n, rd.PayloadRequest)
		}
	}
}

// persist makes the Ready's safety state and blocks durable, before any
// of its messages leave.
func (s *Sim) persist(n *node, rd *types.Ready) {
	if rd.SafetyState != nil {
		n.durable.SafetyState = append([]byte(nil), rd.SafetyState...)
	}
	for _, b := range rd.Blocks {
		n.durable.Blocks[b.ID()] = b
	}
}

// send encodes m once and schedules it to its recipient or to every other
// node. Messages whose From is not the sender are not sent: the gateway of
// every real recipient would reject them.
func (s *Sim) send(n *node, m types.Message) {
	data, err := types.EncodeMessage(m)
	if err != nil || m.From != n.id {
		s.log.add(event{tick: s.now, kind: evRejected, node: n.id, detail: "unsendable"})
		return
	}
	mt := m.Payload.MsgType()
	s.counters.created(mt)
	for to := range s.cfg.N {
		dest := types.ValidatorIndex(to)
		if dest == n.id || (!m.Broadcast && dest != m.To) {
			continue
		}
		p := &packet{from: n.id, to: dest, data: data, msgType: mt}
		s.counters.sent(mt, len(data))
		kind := evSend
		if s.net.send(s.now, p) {
			kind = evDrop
		}
		s.log.add(event{tick: s.now, kind: kind, node: n.id, peer: dest, msgType: mt, size: len(data)})
	}
}

// apply checks a committed block against the oracle (honest nodes only)
// and applies it. It reports false when the run must stop.
func (s *Sim) apply(n *node, b types.CommittedBlock) bool {
	committed := n.durable.Committed
	var prev *types.CommittedBlock
	if len(committed) > 0 {
		prev = &committed[len(committed)-1]
	}
	if n.honest() {
		if what := s.oracle.checkCommit(n.id, b, n.durable.Height(), prev); what != "" {
			s.fail(n.id, what)
			return false
		}
	}
	n.durable.Committed = append(n.durable.Committed, b)
	s.log.add(event{tick: s.now, kind: evCommit, node: n.id, height: b.Block.GetHeight(), blockID: b.ID})
	return true
}

// txsPerPayload is how many client transactions each proposal carries.
const txsPerPayload = 3

// propose answers a payload request with fresh client transactions; the
// oracle remembers them so it can check validity of what gets committed.
func (s *Sim) propose(n *node, req *types.PayloadRequest) {
	txs := make([]types.Tx, 0, txsPerPayload)
	for range min(txsPerPayload, max(req.MaxTxs, 1)) {
		s.txSeq++
		tx := types.Tx(fmt.Sprintf("key%d=value-%d-%d", s.txSeq%97, s.cfg.Seed, s.txSeq))
		s.oracle.submit(tx)
		txs = append(txs, tx)
	}
	if err := n.engine.Propose(types.ProposalPayload{View: req.View, Txs: txs}); err == nil {
		s.processReady(n)
	}
}

func (s *Sim) fail(i types.ValidatorIndex, what string) {
	if s.violation != nil {
		return
	}
	s.violation = &Violation{Protocol: s.cfg.Protocol.Name, N: s.cfg.N, Seed: s.cfg.Seed, Tick: s.now, Node: i, What: what, Trace: s.log.last()}
}
