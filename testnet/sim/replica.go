package sim

import (
	"errors"
	"fmt"
	"time"

	"github.com/bftkit/bftkit/driver"
	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/types"
)

// TickDuration is how much virtual time one tick stands for, on the clock
// the driver's pacing and the gateway's and block server's budgets read:
// the node's default tick.
const TickDuration = 50 * time.Millisecond

// simEpoch is virtual time zero.
var simEpoch = time.Unix(0, 0).UTC()

// Per-peer block-serving budgets, as a node's defaults.
const (
	blocksPerSecond = 2048
	bytesPerSecond  = 64 << 20
)

// replica is one simulated node's world as the driver sees it: its
// durable state is the disk, the simulated network the transport, the
// oracle the application, the simulated client the mempool, and virtual
// time the clock. The driver, gateway and block server are the
// production ones.
type replica struct {
	s *Sim
	n *node
}

// start builds n's engine from its durable state, wrapped in its
// Byzantine behaviour if it has one, and the production driver, gateway
// and block server around it.
func (s *Sim) start(n *node) {
	env := protocol.Env{ID: n.id, N: s.cfg.N, ChainID: s.cfg.ChainID, Rand: n.rng,
		Signer: s.crypto.Signer(n.id), Scheme: s.crypto.Scheme, Restored: n.durable.restored()}
	e, err := s.cfg.Protocol.New(env)
	if err != nil {
		n.state = nodeCrashed
		s.fail(n.id, fmt.Sprintf("cannot start from its durable state: %v", err))
		return
	}
	if n.byzantine != "" {
		b, _ := s.cfg.Protocol.Behaviour(n.byzantine) // checked in Config.check
		e = b(e, env)
	}
	r := replica{s: s, n: n}
	desc := &s.cfg.Protocol.Descriptor
	n.gateway, err = driver.NewGateway(driver.GatewayConfig{Self: n.id, N: s.cfg.N, Descriptor: desc,
		Verifier: s.verifier, VerifyWorkers: 1, Clock: r, View: func() uint64 { return n.driver.View() }})
	if err == nil {
		n.blocks, err = driver.NewBlockServer(driver.BlockServerConfig{Self: n.id, N: s.cfg.N,
			Source: r, Clock: r, BlocksPerSecond: blocksPerSecond, BytesPerSecond: bytesPerSecond})
	}
	if err != nil {
		panic(fmt.Sprintf("sim: %v", err)) // the simulator's own wiring is wrong
	}
	dc := driver.Config{Self: n.id, Descriptor: desc, Engine: e, Storage: r, Transport: r, App: r, Payloads: r, Clock: r,
		Gateway: n.gateway, CommittedHeight: n.durable.Height()}
	dc.Rejected = func(m types.Message, err error) {
		s.log.add(event{tick: s.now, kind: evRejected, node: n.id, peer: m.From, msgType: m.Payload.MsgType(), detail: "engine: " + err.Error()})
	}
	if check := s.cfg.Protocol.CheckReady; check != nil && n.honest() {
		dc.Check = func(rd *types.Ready) error { return check(s.verifier, n.durable.SafetyState, rd) }
	}
	n.state = nodeUp
	if n.driver, err = driver.New(dc); err != nil {
		panic(fmt.Sprintf("sim: %v", err)) // the simulator's own wiring is wrong
	}
	s.driverFailed(n, n.driver.Drain())
}

// driverFailed reports a driver that stopped. For an honest node that is
// a violation (a halted engine, a safety-state check, a runaway engine);
// a Byzantine node that stopped itself just stays silent.
func (s *Sim) driverFailed(n *node, err error) {
	if err == nil {
		return
	}
	if !n.honest() && errors.Is(err, driver.ErrHalted) {
		s.log.add(event{tick: s.now, kind: evRejected, node: n.id, detail: "halted"})
		return
	}
	s.fail(n.id, err.Error())
}

// Persist writes the Ready's safety state and blocks to the node's
// durable state; committed blocks become durable as they are applied.
func (r replica) Persist(rd *types.Ready) error {
	d := r.n.durable
	if rd.SafetyState != nil {
		d.SafetyState = append([]byte(nil), rd.SafetyState...)
	}
	for _, b := range rd.Blocks {
		d.Blocks[b.ID()] = b
	}
	return nil
}

// Send puts a message on the simulated network.
func (r replica) Send(m types.Message, _ protocol.Class) { r.s.send(r.n, m) }

// Commit checks each block against the oracle (honest nodes only) and
// applies it.
func (r replica) Commit(cbs []types.CommittedBlock) error {
	for _, b := range cbs {
		if err := r.s.apply(r.n, b); err != nil {
			return err
		}
	}
	return nil
}

// Evidence is not checked by the simulator yet.
func (replica) Evidence([]*types.DoubleSign) {}

// Waiting: the simulated client always has transactions.
func (replica) Waiting() bool { return true }

// Payload answers a payload request with fresh client transactions.
func (r replica) Payload(req *types.PayloadRequest) types.ProposalPayload {
	return types.ProposalPayload{View: req.View, Txs: r.s.clientTxs(req.MaxTxs)}
}

// Now is virtual time.
func (r replica) Now() time.Time { return simEpoch.Add(time.Duration(r.s.now) * TickDuration) }

// BlockByID reads a stored or applied block.
func (r replica) BlockByID(id types.BlockID) (*types.Block, bool, error) {
	d := r.n.durable
	if b, ok := d.Blocks[id]; ok {
		return b, true, nil
	}
	if h, ok := d.heights[id]; ok && h >= 1 && h <= d.Height() && d.Committed[h-1].ID == id {
		return d.Committed[h-1].Block, true, nil
	}
	return nil, false, nil
}

// CommittedBlock reads an applied block by height.
func (r replica) CommittedBlock(h uint64) (types.CommittedBlock, bool, error) {
	d := r.n.durable
	if h < 1 || h > d.Height() || d.Committed[h-1].Block.Height != h {
		return types.CommittedBlock{}, false, nil // a Byzantine node's chain may have gaps
	}
	return d.Committed[h-1], true, nil
}
