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
		desc = m.describe()
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
		Self: cfg.Self, N: set.N(), Descriptor: n.desc, Source: blockSource{n.store}, Clock: driver.WallClock{},
		BlocksPerSecond: cfg.BlockRequestsPerSecond, BytesPerSecond: blockServeBytesPerSecond,
	})
	if err != nil {
		return err
	}
	w := world{n}
	n.driver, err = driver.New(driver.Config{
		Self: cfg.Self, Descriptor: n.desc, Engine: engine,
		Storage: w, Transport: w, App: w, Payloads: w, Clock: driver.WallClock{},
		Gateway: n.gateway, EmptyBlockInterval: cfg.EmptyBlockInterval, Log: n.log,
	})
	return err
}

// halt stops consensus on this validator, visibly: an error log naming
// the reason, /status (halted), the consensus_halted metric, and the
// node's error (bftkit node exits non-zero). Sending anything more could
// sign what a restart would contradict (a failed persist) or build on a
// chain that conflicts with the committed one (a halted engine). The
// node itself then stops.
func (n *Node) halt(err error) {
	if errors.Is(err, driver.ErrHalted) {
		err = fmt.Errorf("%w: %w", ErrHalted, err)
	}
	n.halted.Store(&err)
	n.metrics.halted.Set(1)
	n.publishStatus()
	n.fail(err)
}

// ErrHalted is the node's error when its engine halted: it detected that
// continuing could break safety (more than f validators are faulty).
var ErrHalted = errors.New("consensus halted")

// Halted is why consensus stopped on this validator, nil while it runs.
func (n *Node) Halted() error {
	if p := n.halted.Load(); p != nil {
		return *p
	}
	return nil
}
