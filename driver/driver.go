package driver

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/types"
)

// MaxReadyRounds bounds the Ready/Advance rounds one input may cause,
// messages the engine addresses to itself and the proposals it asks for
// included: an engine that always has more work is broken, and the driver
// stops rather than spin.
const MaxReadyRounds = 1000

// maxProposalsPerInput bounds the payloads proposed while carrying out
// one input: deeper than any engine's pipeline, so a leader fills its
// pipeline at once, but a chain of proposals without end (a lone
// validator forms its own certificates, and its mempool may never run
// dry) continues on the next tick instead of holding the loop.
const maxProposalsPerInput = 16

// maxLocal bounds the messages an engine addressed to itself and that
// wait to be stepped.
const maxLocal = 1024

// ErrHalted wraps the reason an engine gave for stopping itself.
var ErrHalted = errors.New("the engine halted")

// Config is what a Driver runs: the engine and the world around it.
type Config struct {
	Self       types.ValidatorIndex
	Descriptor *protocol.Descriptor
	Engine     protocol.Engine
	Storage    Storage
	Transport  Transport
	App        Application
	Payloads   Payloads
	Clock      Clock
	// Gateway, if set, is told of every block fetch the engine sends, so
	// that it accepts the answers (and only those).
	Gateway *Gateway
	// EmptyBlockInterval is how long a leader with nothing to propose
	// waits before proposing an empty block; 0 proposes at once.
	EmptyBlockInterval time.Duration
	// CommittedHeight is the height committed before this start.
	CommittedHeight uint64
	// Check, if set, sees every Ready before it is carried out (the
	// simulator's oracle of the safety state); an error stops the driver.
	Check func(rd *types.Ready) error
	// Rejected, if set, sees every message the engine refused (stale,
	// conflicting, out of its window): the simulator traces them.
	Rejected func(m types.Message, err error)
	Log      *slog.Logger
}

// Driver runs one engine: after every input it carries out the engine's
// Ready in the order types.Ready's contract demands, and it paces the
// payloads a leader proposes. One goroutine owns it. After an error
// (a failed persist or commit, a halted engine, a runaway engine) it
// stays stopped: every later call returns the same error.
type Driver struct {
	cfg    Config
	engine protocol.Engine
	log    *slog.Logger
	err    error
	local  []types.Message // addressed to itself, to step next

	// payloadReq is the engine's unanswered request, since payloadSince.
	payloadReq   *types.PayloadRequest
	payloadSince time.Time
	// txsAbove is the highest height of a stored block with transactions,
	// committed the committed height: while a block with transactions is
	// pending, a protocol whose blocks commit through their children must
	// keep proposing.
	txsAbove, committed uint64
	// proposed counts the payloads proposed during the current input.
	proposed int

	position atomic.Pointer[position] // for the gateway and /status
}

// position is a view and its leader, published together.
type position struct {
	view   uint64
	leader types.ValidatorIndex
}

// New builds a driver. Call Drain once the transport runs, to carry out
// what the engine has to do at start (a restored engine may resend).
func New(cfg Config) (*Driver, error) {
	switch {
	case cfg.Descriptor == nil || cfg.Engine == nil:
		return nil, errors.New("driver: a descriptor and an engine are required")
	case cfg.Storage == nil || cfg.Transport == nil || cfg.App == nil || cfg.Payloads == nil || cfg.Clock == nil:
		return nil, errors.New("driver: storage, transport, application, payloads and clock are required")
	}
	if err := cfg.Descriptor.Check(); err != nil {
		return nil, fmt.Errorf("driver: %w", err)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Driver{cfg: cfg, engine: cfg.Engine, log: log, committed: cfg.CommittedHeight}
	d.publishPosition()
	return d, nil
}

// Drain carries out whatever the engine has to do now, with no new input:
// at start.
func (d *Driver) Drain() error {
	if d.err != nil {
		return d.err
	}
	return d.drain()
}

// Step delivers one verified message and carries out what follows.
func (d *Driver) Step(m types.Message) error {
	if d.err != nil {
		return d.err
	}
	d.step(m)
	return d.drain()
}

// Tick advances the engine's clock by one tick, proposes if the pacing
// allows, and carries out what follows.
func (d *Driver) Tick() error {
	if d.err != nil {
		return d.err
	}
	d.engine.Tick()
	d.maybePropose()
	return d.drain()
}

// Err is the error that stopped the driver, nil while it runs.
func (d *Driver) Err() error { return d.err }

// View is the engine's view as of the last input; safe on any goroutine.
func (d *Driver) View() uint64 { return d.position.Load().view }

// Position is the engine's view and leader as of the last input; safe on
// any goroutine.
func (d *Driver) Position() (uint64, types.ValidatorIndex) {
	p := d.position.Load()
	return p.view, p.leader
}

func (d *Driver) step(m types.Message) {
	if err := d.engine.Step(m); err != nil {
		d.log.Debug("engine rejected a message", "type", m.Payload.MsgType(), "from", m.From, "err", err)
		if d.cfg.Rejected != nil {
			d.cfg.Rejected(m, err)
		}
	}
}

// drain carries out Ready until the engine has nothing left, then steps
// what it addressed to itself, within MaxReadyRounds.
func (d *Driver) drain() error {
	defer d.publishPosition()
	defer func() { d.proposed = 0 }()
	for rounds := 0; ; rounds++ {
		if rounds == MaxReadyRounds {
			return d.stop(fmt.Errorf("driver: the engine still has work after %d Ready rounds from one input", MaxReadyRounds))
		}
		switch {
		case d.engine.HasReady():
			if err := d.handleReady(); err != nil {
				return d.stop(err)
			}
		case len(d.local) > 0:
			m := d.local[0]
			d.local = d.local[1:]
			d.step(m)
		default:
			// An engine may halt on an input that leaves it nothing to
			// do (a PBFT checkpoint that contradicts its history).
			if err := d.engine.Halted(); err != nil {
				return d.stop(fmt.Errorf("%w: %w", ErrHalted, err))
			}
			return nil
		}
	}
}

func (d *Driver) stop(err error) error {
	d.err = err
	d.local = nil
	return err
}

// handleReady carries out one Ready, in the contract's order.
func (d *Driver) handleReady() error {
	rd := d.engine.Ready()
	if d.cfg.Check != nil {
		if err := d.cfg.Check(&rd); err != nil {
			return fmt.Errorf("driver: Ready check: %w", err)
		}
	}
	// 1. Durable before anything leaves.
	if rd.SafetyState != nil || len(rd.Blocks) > 0 || len(rd.Committed) > 0 {
		if err := d.cfg.Storage.Persist(&rd); err != nil {
			return fmt.Errorf("driver: making the Ready durable: %w", err)
		}
	}
	for _, b := range rd.Blocks {
		if len(b.Txs) > 0 {
			d.txsAbove = max(d.txsAbove, b.Height)
		}
	}
	// 2. Messages.
	for _, m := range rd.Messages {
		d.send(m)
	}
	// 3. Commits.
	if k := len(rd.Committed); k > 0 {
		d.committed = rd.Committed[k-1].Block.Height
		if err := d.cfg.App.Commit(rd.Committed); err != nil {
			return fmt.Errorf("driver: committing: %w", err)
		}
	}
	// 4. Requests.
	if len(rd.Evidence) > 0 {
		d.cfg.App.Evidence(rd.Evidence)
	}
	if rd.PayloadRequest != nil {
		d.payloadReq, d.payloadSince = rd.PayloadRequest, d.cfg.Clock.Now()
	}
	d.engine.Advance(rd)
	if err := d.engine.Halted(); err != nil {
		return fmt.Errorf("%w: %w", ErrHalted, err)
	}
	if d.proposed < maxProposalsPerInput {
		d.maybePropose()
	}
	return nil
}

// send routes one outbound message: to itself it is stepped after this
// Ready; a fetch is announced to the gateway, which then accepts its
// answers; everything else goes to the transport.
func (d *Driver) send(m types.Message) {
	class, _ := d.cfg.Descriptor.Class(m.Payload.MsgType())
	if !m.Broadcast && m.To == d.cfg.Self {
		if len(d.local) < maxLocal {
			d.local = append(d.local, m)
		}
		return
	}
	if r, ok := m.Payload.(*types.BlockRequest); ok && d.cfg.Gateway != nil {
		d.cfg.Gateway.expect(m.To, r.Blocks())
	}
	d.cfg.Transport.Send(m, class)
}

// maybePropose answers the engine's payload request now if there is
// work: transactions waiting, or (for a protocol whose blocks commit
// through their children) a stored block with transactions that is not
// committed yet. An idle chain instead proposes an empty block only every
// EmptyBlockInterval, rather than spinning through empty blocks as fast
// as the crypto allows.
func (d *Driver) maybePropose() {
	req := d.payloadReq
	if req == nil {
		return
	}
	tooSoon := d.cfg.Clock.Now().Sub(d.payloadSince) < d.cfg.EmptyBlockInterval
	if tooSoon && !d.hasWork() {
		return
	}
	d.payloadReq = nil
	d.proposed++
	if err := d.engine.Propose(d.cfg.Payloads.Payload(req)); err != nil {
		d.log.Debug("engine refused the payload", "err", err)
	}
}

func (d *Driver) hasWork() bool {
	if d.cfg.Payloads.Waiting() {
		return true
	}
	return d.cfg.Descriptor.CommitsNeedChildren && d.txsAbove > d.committed
}

func (d *Driver) publishPosition() {
	view, leader := d.engine.Position()
	if p := d.position.Load(); p != nil && p.view == view && p.leader == leader {
		return // unchanged: most inputs do not move the view
	}
	d.position.Store(&position{view: view, leader: leader})
}
