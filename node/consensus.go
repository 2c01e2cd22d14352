package node

import (
	"errors"
	"fmt"
	"time"

	"github.com/bftkit/bftkit/driver"
	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/store"
)

// startDriver restores the engine and builds the driver, gateway and
// block server around it. Nothing runs until Start.
func (n *Node) startDriver(restored store.Restored) error {
	cfg := &n.cfg
	m, err := lookupMode(cfg.Protocol)
	var desc protocol.Descriptor
	switch {
	case cfg.Descriptor != nil:
		desc = *cfg.Descriptor
	case err != nil:
		return err
	default:
		desc = m.describe(timingOf(cfg))
	}
	if err := desc.Check(); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.desc = &desc
	if err := checkTiming(cfg, n.desc); err != nil {
		return err
	}
	engine, err := newEngine(cfg, n.desc, m.byzantine, restored, n.store)
	if err != nil {
		return err
	}
	set := cfg.Set
	n.gateway, err = driver.NewGateway(driver.GatewayConfig{
		Self: cfg.Self, N: set.N(), Descriptor: n.desc,
		Verifier: qc.NewVerifier(cfg.Genesis.ChainID, set), VerifyWorkers: cfg.VerifyWorkers,
		Clock: driver.WallClock{}, View: func() uint64 { return n.driver.View() },
		ProcessProposal: n.processProposal,
		Observe:         func(d time.Duration) { n.metrics.verifySeconds.Observe(d.Seconds()) },
	})
	if err != nil {
		return err
	}
	n.blocks, err = driver.NewBlockServer(driver.BlockServerConfig{
		Self: cfg.Self, N: set.N(), Source: blockSource{n.store}, Clock: driver.WallClock{},
		BlocksPerSecond: cfg.BlockRequestsPerSecond, BytesPerSecond: blockServeBytesPerSecond,
	})
	if err != nil {
		return err
	}
	w := world{n}
	n.driver, err = driver.New(driver.Config{
		Self: cfg.Self, Descriptor: n.desc, Engine: engine,
		Storage: w, Transport: w, App: w, Payloads: w, Clock: driver.WallClock{},
		Gateway: n.gateway, EmptyBlockInterval: cfg.EmptyBlockInterval, CommittedHeight: restored.Height, Log: n.log,
	})
	return err
}

// halt stops consensus on this validator, visibly: an error log naming
// the reason, /status (halted), the consensus_halted metric, Halting
// closed, and the node's error (bftkit node exits non-zero). Signing
// anything more could contradict what a restart would find (a failed
// persist) or build on a chain that conflicts with the committed one (a
// halted engine). The rest of the node keeps running (the API, metrics,
// blocks served to peers, the executor), so the halt can be seen and the
// chain read until the embedder or bftkit node stops it.
func (n *Node) halt(err error) {
	err = fmt.Errorf("%w: %w", ErrHalted, err)
	n.halted.Store(&err)
	n.setErr(err)
	n.metrics.halted.Set(1)
	n.log.Error("consensus halted on this validator: it signs nothing more", "err", err)
	n.publishStatus()
	close(n.halting)
}

// ErrHalted is the node's error once consensus stopped on it: its engine
// halted (it found that continuing could break safety: more than f
// validators are faulty), or its store failed to make a Ready durable.
var ErrHalted = errors.New("consensus halted")

// Halted is why consensus stopped on this validator, nil while it runs.
func (n *Node) Halted() error {
	if p := n.halted.Load(); p != nil {
		return *p
	}
	return nil
}

// Halting is closed once consensus halted on this validator (see Halted).
func (n *Node) Halting() <-chan struct{} { return n.halting }
