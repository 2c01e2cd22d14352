package sim

import (
	"errors"
	"fmt"

	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/types"
)

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

// errViolation stops a node's driver after the oracle reported a
// violation (the violation itself says what).
var errViolation = errors.New("sim: safety violation")

// apply checks a committed block against the oracle (honest nodes only)
// and applies it.
func (s *Sim) apply(n *node, b types.CommittedBlock) error {
	committed := n.durable.Committed
	var prev *types.CommittedBlock
	if len(committed) > 0 {
		prev = &committed[len(committed)-1]
	}
	if n.honest() {
		if what := s.oracle.checkCommit(n.id, b, n.durable.Height(), prev); what != "" {
			s.fail(n.id, what)
			return errViolation
		}
	}
	n.durable.commit(b)
	s.log.add(event{tick: s.now, kind: evCommit, node: n.id, height: b.Block.GetHeight(), blockID: b.ID})
	return nil
}

// txsPerPayload is how many client transactions each proposal carries.
const txsPerPayload = 3

// clientTxs are fresh client transactions for a proposal; the oracle
// remembers them so it can check validity of what gets committed.
func (s *Sim) clientTxs(maxTxs int) []types.Tx {
	txs := make([]types.Tx, 0, txsPerPayload)
	for range min(txsPerPayload, max(maxTxs, 1)) {
		s.txSeq++
		tx := types.Tx(fmt.Sprintf("key%d=value-%d-%d", s.txSeq%97, s.cfg.Seed, s.txSeq))
		s.oracle.submit(tx)
		txs = append(txs, tx)
	}
	return txs
}

// deliverTo runs a delivered packet through n's gateway, then hands it to
// the block server (a fetch) or the driver.
func (s *Sim) deliverTo(n *node, p *packet) {
	m, err := types.DecodeMessage(p.data)
	if err != nil {
		s.log.add(event{tick: s.now, kind: evRejected, node: n.id, peer: p.from, msgType: p.msgType, size: len(p.data), detail: "decode"})
		return
	}
	s.counters.delivered(p.msgType)
	class, err := n.gateway.Check(p.from, false, m)
	if err != nil {
		s.log.add(event{tick: s.now, kind: evRejected, node: n.id, peer: p.from, msgType: p.msgType, size: len(p.data), detail: "gateway"})
		return
	}
	s.log.add(event{tick: s.now, kind: evDeliver, node: n.id, peer: p.from, msgType: p.msgType, size: len(p.data)})
	if r, ok := m.Payload.(*types.BlockRequest); ok && class == protocol.Fetch {
		err := n.blocks.Admit(r)
		if err == nil {
			err = n.blocks.Serve(r, func(resp types.Message) { s.send(n, resp) })
		}
		if err != nil {
			s.log.add(event{tick: s.now, kind: evRejected, node: n.id, peer: p.from, msgType: p.msgType, detail: "block server: " + err.Error()})
		}
		return
	}
	s.driverFailed(n, n.driver.Step(m))
}

func (s *Sim) fail(i types.ValidatorIndex, what string) {
	if s.violation != nil {
		return
	}
	s.violation = &Violation{Protocol: s.cfg.Protocol.Name, N: s.cfg.N, Seed: s.cfg.Seed, Tick: s.now, Node: i, What: what, Trace: s.log.last()}
}
