package driver

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// maxExpectedBlocks caps the block responses a peer may owe this node.
const maxExpectedBlocks = 4 * types.MaxBlockRequestAncestors

// farFuturePerSecond is each validator's budget of proposals and view
// changes beyond the view window. A replica that fell behind needs one
// (its certificate moves it to the current view); a Byzantine validator
// could otherwise sign endless ones for far views, each costing every
// replica a verification.
const farFuturePerSecond = 4

// GatewayConfig is what a Gateway checks messages against.
type GatewayConfig struct {
	Self       types.ValidatorIndex
	N          int
	Descriptor *protocol.Descriptor
	// Verifier checks signatures and certificates against the validator
	// set.
	Verifier *qc.Verifier
	// VerifyWorkers bounds concurrent verifications: herumi's C calls
	// ignore GOMAXPROCS, so the bound must be explicit.
	VerifyWorkers int
	Clock         Clock
	// View is this node's current view (Driver.View); safe on any
	// goroutine.
	View func() uint64
	// ProcessProposal asks the application about a proposed block; a
	// replica does not vote for a block its application refuses. Nil
	// accepts every block.
	ProcessProposal func(b *types.Block) error
	// Observe, if set, times each verification.
	Observe func(verify time.Duration)
}

// Gateway checks every inbound message before the engine sees it. The
// engine then only runs protocol rules: its inputs are well-formed,
// authenticated and verified. Safe for concurrent use: a node runs it on
// the transport's goroutines.
type Gateway struct {
	cfg    GatewayConfig
	leader func(view uint64) types.ValidatorIndex
	sem    chan struct{}
	// expected counts, per peer, the blocks this node asked for and has
	// not received: unsigned responses are accepted only against it, so a
	// peer cannot make the engine hash blocks nobody asked for.
	expected []atomic.Int64
	farMu    sync.Mutex
	far      []tokenBucket // per validator
}

// NewGateway builds a gateway.
func NewGateway(cfg GatewayConfig) (*Gateway, error) {
	if cfg.Descriptor == nil || cfg.Verifier == nil || cfg.Clock == nil || cfg.View == nil || cfg.N < 1 {
		return nil, errors.New("driver: a gateway needs a descriptor, a verifier, a clock, a view and n")
	}
	if err := cfg.Descriptor.Check(); err != nil {
		return nil, fmt.Errorf("driver: %w", err)
	}
	g := &Gateway{
		cfg:      cfg,
		sem:      make(chan struct{}, max(cfg.VerifyWorkers, 1)),
		expected: make([]atomic.Int64, cfg.N),
		far:      make([]tokenBucket, cfg.N),
	}
	if cfg.Descriptor.Leader != nil {
		g.leader = cfg.Descriptor.Leader(cfg.N)
	}
	return g, nil
}

// Rejection is why the gateway refused a message; Reason is a short
// label for metrics.
type Rejection struct {
	Reason string
	Err    error
}

func (r *Rejection) Error() string { return r.Err.Error() }
func (r *Rejection) Unwrap() error { return r.Err }

func reject(reason string, err error) *Rejection { return &Rejection{Reason: reason, Err: err} }

// Gateway errors.
var (
	ErrFromSelf      = errors.New("message claims to come from this validator")
	ErrWrongProtocol = errors.New("message of another protocol")
	ErrUnrequested   = errors.New("block response that was not asked for")
	ErrNotLeader     = errors.New("proposal from a validator that does not lead its view")
	ErrFarFuture     = errors.New("too many messages for views beyond the window")
	ErrStaleView     = errors.New("view change for a view this node left")
)

// Check decides whether m, which arrived from the authenticated peer from
// (gossiped: as the author of a gossip message), may reach the engine,
// and returns its class. A Fetch passes unverified (it is unsigned and
// answered by the block server, never stepped). Errors are *Rejection.
func (g *Gateway) Check(from types.ValidatorIndex, gossiped bool, m types.Message) (protocol.Class, error) {
	t := m.Payload.MsgType()
	switch {
	case m.From == g.cfg.Self:
		return 0, reject("sender", ErrFromSelf)
	case int(from) >= g.cfg.N:
		return 0, reject("sender", fmt.Errorf("%v from %d, not one of the %d validators", t, from, g.cfg.N))
	case m.From != from:
		return 0, reject("sender", fmt.Errorf("%v signed by %d arrived from peer %d", t, m.From, from))
	}
	class, ok := g.cfg.Descriptor.Class(t)
	switch {
	case !ok:
		// Another protocol's message (a misconfigured peer): refused
		// before any precheck or verification touches it.
		return 0, reject("protocol", fmt.Errorf("%w: %v in %s mode", ErrWrongProtocol, t, g.cfg.Descriptor.Name))
	case gossiped && class != protocol.Proposal:
		// Only proposals travel by gossip.
		return 0, reject("sender", fmt.Errorf("%v on the proposals topic", t))
	}
	if err := g.precheck(from, class, m.Payload); err != nil {
		return 0, err
	}
	if class == protocol.Fetch {
		return class, nil
	}
	if err := g.verify(m); err != nil {
		return 0, reject("verify", fmt.Errorf("%v from %d: %w", t, from, err))
	}
	if b := BlockOf(m.Payload); class == protocol.Proposal && b != nil && g.cfg.ProcessProposal != nil {
		if err := g.cfg.ProcessProposal(b); err != nil {
			return 0, reject("app", err)
		}
	}
	return class, nil
}

// precheck runs the checks that cost no cryptography, by class.
func (g *Gateway) precheck(from types.ValidatorIndex, class protocol.Class, p types.Payload) error {
	switch class {
	case protocol.Response:
		// Only as many as this node asked the peer for: each costs a
		// verification or a hash.
		if g.expected[from].Add(-1) < 0 {
			g.expected[from].Add(1)
			return reject("unrequested", ErrUnrequested)
		}
	case protocol.Proposal:
		b := BlockOf(p)
		if b == nil {
			return reject("proposal", errors.New("proposal without a block"))
		}
		if g.leader != nil && g.leader(b.View) != b.Proposer {
			return reject("proposal", ErrNotLeader)
		}
		if err := g.budgetFarFuture(b.View, b.Proposer); err != nil {
			return reject("proposal", err)
		}
	case protocol.ViewChange, protocol.NewView:
		// The engine drops view changes for views it left anyway; each
		// carries many signatures, so they are refused before those.
		view, ok := ViewOf(p)
		if !ok {
			return nil
		}
		if view < g.cfg.View() {
			return reject("view_change", ErrStaleView)
		}
		if err := g.budgetFarFuture(view, p.Signer()); err != nil {
			return reject("view_change", err)
		}
	}
	return nil
}

// budgetFarFuture lets a message for view pass if it is within the
// window, or if its signer has budget left.
func (g *Gateway) budgetFarFuture(view uint64, signer types.ValidatorIndex) error {
	if view <= g.cfg.View()+g.cfg.Descriptor.ViewWindow || int(signer) >= len(g.far) {
		return nil
	}
	g.farMu.Lock()
	defer g.farMu.Unlock()
	if !g.far[signer].take(g.cfg.Clock.Now(), farFuturePerSecond, 1) {
		return ErrFarFuture
	}
	return nil
}

func (g *Gateway) verify(m types.Message) error {
	if g.cfg.Descriptor.Verify == nil {
		return nil
	}
	g.sem <- struct{}{}
	defer func() { <-g.sem }()
	if g.cfg.Observe == nil {
		return g.cfg.Descriptor.Verify(g.cfg.Verifier, m)
	}
	start := time.Now() // a metric only: nothing decides on it
	err := g.cfg.Descriptor.Verify(g.cfg.Verifier, m)
	g.cfg.Observe(time.Since(start))
	return err
}

// expect records that this node asked peer for up to k blocks.
func (g *Gateway) expect(peer types.ValidatorIndex, k uint32) {
	if int(peer) >= len(g.expected) {
		return
	}
	if v := g.expected[peer].Add(int64(k)); v > maxExpectedBlocks {
		g.expected[peer].Store(maxExpectedBlocks)
	}
}

// viewed is a payload that names its view (gogoproto generates GetView).
type viewed interface{ GetView() uint64 }

// ViewOf is the view a payload names (gogoproto generates GetView for a
// field named view), if it names one.
func ViewOf(p types.Payload) (uint64, bool) {
	if v, ok := p.(viewed); ok {
		return v.GetView(), true
	}
	return 0, false
}

// BlockOf is the block a payload carries (a proposal, a pre-prepare, a
// block response), or nil.
func BlockOf(p types.Payload) *types.Block {
	if c, ok := p.(interface{ GetBlock() *types.Block }); ok {
		return c.GetBlock()
	}
	return nil
}
