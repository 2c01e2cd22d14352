package hotstuff

import (
	"errors"
	"fmt"
	"github.com/bftkit/bftkit/protocol"

	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// DefaultBaseTimeoutTicks is a view's timeout before any back-off.
const DefaultBaseTimeoutTicks = 20

// DefaultAdaptFactor is how many times the median recent view a view's
// timeout is at least.
const DefaultAdaptFactor = 4

// DefaultElectionDepth is how many views before a view its leader's
// history is read (see Engine.anchor).
const DefaultElectionDepth = 3

// Config sets up one replica.
type Config struct {
	ID      types.ValidatorIndex
	N       int
	ChainID string
	Signer  qc.Signer
	Scheme  qc.Scheme
	// Election chooses leaders (reputation unless round-robin); each
	// leader holds ViewsPerLeader consecutive views (0:
	// DefaultViewsPerLeader).
	Election       Election
	ViewsPerLeader int
	// ElectionDepth is how many views back the schedule's history is
	// read; ActiveWindow and FailureWindow are reputation's windows, in
	// blocks (see reputation.go). FailureWindow must fit in
	// RetainCommitted: every replica must hold the whole window.
	ElectionDepth               uint64
	ActiveWindow, FailureWindow uint64

	// BaseTimeoutTicks is a view's timeout; it doubles with each
	// consecutive view that ends in a TC beyond the first BackoffAfter,
	// up to MaxTimeoutTicks.
	BaseTimeoutTicks, MaxTimeoutTicks int
	// AdaptFactor stretches the base timeout to this many times the
	// median of the recent views a QC ended (0: a fixed base).
	AdaptFactor int
	// BackoffAfter is how many consecutive timeouts pass before the
	// timeout starts doubling. One crashed leader costs its own views and
	// the view before (whose votes it was to aggregate): three timeouts
	// in a row that say nothing about the network being slow. Doubling
	// from the first of them made each pass of a crashed leader cost
	// 1+2+4 base timeouts instead of 3.
	BackoffAfter int
	// ViewWindow is how far ahead of its view a replica buffers proposals
	// (and collects votes and timeouts); messages further ahead are dropped.
	ViewWindow uint64
	// MaxBuffered bounds buffered future proposals; MaxParked bounds
	// proposals waiting for a missing parent; MaxFetching bounds blocks
	// being fetched.
	MaxBuffered, MaxParked, MaxFetching int
	// MaxTxs and MaxBytes bound a block's payload.
	MaxTxs, MaxBytes int
	// RetainCommitted is how many committed heights of blocks the engine
	// keeps in memory (to serve peers that fetch); older ones are the
	// driver's store's to serve.
	RetainCommitted uint64
	// Rules are the safety rules; the zero value is the paper's.
	Rules Rules
}

// DefaultConfig fills the tunables for replica id of n.
func DefaultConfig(id types.ValidatorIndex, n int, chainID string, signer qc.Signer, scheme qc.Scheme) Config {
	return Config{
		ID: id, N: n, ChainID: chainID, Signer: signer, Scheme: scheme,
		ElectionDepth: DefaultElectionDepth,
		ActiveWindow:  activeWindow(n), FailureWindow: DefaultFailureWindow,
		BaseTimeoutTicks: DefaultBaseTimeoutTicks, MaxTimeoutTicks: 16 * DefaultBaseTimeoutTicks, AdaptFactor: DefaultAdaptFactor, BackoffAfter: DefaultViewsPerLeader + 1, ViewWindow: 32,
		MaxBuffered: 256, MaxParked: 64, MaxFetching: 256,
		MaxTxs: types.DefaultBlockTxs, MaxBytes: types.DefaultBlockBytes, RetainCommitted: 1024,
	}
}

func (c *Config) check() error {
	switch {
	case c.N < 1 || int(c.ID) >= c.N:
		return fmt.Errorf("hotstuff: replica %d is not among %d", c.ID, c.N)
	case c.Signer == nil || c.Scheme == nil:
		return errors.New("hotstuff: a signer and a scheme are required")
	case c.BaseTimeoutTicks < 1 || c.MaxTimeoutTicks < c.BaseTimeoutTicks:
		return fmt.Errorf("hotstuff: timeouts %d..%d ticks are not a range", c.BaseTimeoutTicks, c.MaxTimeoutTicks)
	case c.BackoffAfter < 0 || c.AdaptFactor < 0:
		return errors.New("hotstuff: BackoffAfter and AdaptFactor must not be negative")
	case c.ViewsPerLeader < 0 || c.ElectionDepth < 1 || c.ActiveWindow < 1 || c.FailureWindow < c.ActiveWindow:
		return fmt.Errorf("hotstuff: election: %d views per leader, depth %d, windows %d and %d blocks (need ≥ 0, ≥ 1, ≥ 1, and the failure window at least the active one)",
			c.ViewsPerLeader, c.ElectionDepth, c.ActiveWindow, c.FailureWindow)
	case c.Election == ElectReputation && c.FailureWindow+retainMargin > c.RetainCommitted:
		return fmt.Errorf("hotstuff: reputation reads %d blocks back but only %d committed blocks are retained (need %d more)",
			c.FailureWindow, c.RetainCommitted, retainMargin)
	case c.ViewWindow < 1 || c.MaxBuffered < 1 || c.MaxParked < 1 || c.MaxFetching < 1 || c.RetainCommitted < 16:
		return errors.New("hotstuff: window and buffer bounds must be positive")
	}
	return nil
}

// retainMargin is how many blocks beyond the failure window the engine
// keeps: anchors sit a few blocks above the committed head, and pruning
// runs only every pruneEvery heights.
const retainMargin = 16

// activeWindow is the default active window for n validators: long enough
// for a full rotation (two views each), at least 16 blocks, at most 256.
func activeWindow(n int) uint64 { return uint64(min(max(4*n, 16), 256)) }

// DefaultFailureWindow is the default failure window, within the default
// retention: a validator that keeps failing as leader gets one try per
// thousand blocks.
const DefaultFailureWindow = 1000

// Restored is what survived a restart (protocol.Restored): the durable
// safety state, the stored blocks, and the tail of the committed chain.
// Committed need not start at height 1: the engine only needs the last
// committed block to extend and a few recent ones.
type Restored = protocol.Restored

// Engine is one HotStuff replica. See the package comment.
type Engine struct {
	cfg        Config
	f          int
	quorum     int
	reputation *reputation

	s      types.HotStuffSafety // durable; dirty says it changed
	dirty  bool
	blocks map[types.BlockID]*types.Block

	committedHeight uint64
	committedID     types.BlockID
	commitTarget    types.BlockID // highest block the commit rule decided
	commitProof     []byte
	halted          error             // why a decided chain conflicted with a commit; nil while running
	pendingQC       *types.QuorumCert // highest QC whose block is still missing

	ticksInView  int
	lastHeard    []uint64         // per validator, the latest view of a vote or timeout received from it
	recentViews  [recentViews]int // ticks of the last views a QC ended
	recentNext   int
	payloadAsked uint64
	votes        VoteCollector
	timeouts     *qc.TimeoutCollector
	proposals    map[uint64]seenProposal // first proposal seen per view
	buffered     []*types.Proposal
	parked       []*types.Proposal
	fetching     map[types.BlockID]fetchState
	askedParent  types.BlockID // the parent named in the last payload request
	ticks        int

	out types.Ready
}

// New builds a replica from cfg and what survived a restart.
func New(cfg Config, r Restored) (*Engine, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg.Rules = cfg.Rules.withDefaults()
	cfg.ViewsPerLeader = cfg.viewsPerLeader()
	s, err := decodeSafety(r.SafetyState)
	if err != nil {
		return nil, err
	}
	quorum := types.QuorumSize(cfg.N)
	slots := qc.CollectorConfig{N: cfg.N, Quorum: quorum, MaxSlotsPerSigner: int(cfg.ViewWindow) + 2}
	e := &Engine{
		cfg: cfg, f: (cfg.N - 1) / 3, quorum: quorum, s: s,
		blocks:    make(map[types.BlockID]*types.Block, len(r.Blocks)),
		votes:     cfg.Rules.NewVoteCollector(slots),
		timeouts:  qc.NewTimeoutCollector(slots),
		proposals: make(map[uint64]seenProposal),
		fetching:  make(map[types.BlockID]fetchState),
		lastHeard: make([]uint64, cfg.N),
	}
	e.reputation = &reputation{n: cfg.N, quorum: quorum, active: cfg.ActiveWindow, failed: cfg.FailureWindow,
		block: e.block, cache: make(map[types.BlockID][]types.ValidatorIndex)}
	for id, b := range r.Blocks {
		e.blocks[id] = b
	}
	for _, cb := range r.Committed {
		e.blocks[cb.ID] = cb.Block
	}
	if k := len(r.Committed); k > 0 {
		last := r.Committed[k-1]
		e.committedHeight, e.committedID = last.Block.Height, last.ID
		e.commitTarget = e.committedID
	}
	if e.s.View == 0 {
		e.s.View, e.dirty = 1, true
	}
	if q := e.s.HighQc; q != nil {
		if _, ok := e.block(q.BlockID); !ok {
			e.fetch(q.BlockID, e.roundRobin(q.View))
		}
	}
	e.enteredView()
	return e, nil
}

// Halted is nil while the replica runs, and the reason once it stopped
// committing because a decided chain conflicted with what it had
// committed (possible only with more than f Byzantine replicas).
func (e *Engine) Halted() error { return e.halted }

// Position is the replica's view and that view's leader on the chain of
// its high QC.
func (e *Engine) Position() (uint64, types.ValidatorIndex) {
	parent, _, whole := e.wholeChain(qcBlock(e.s.HighQc))
	if !whole {
		return e.s.View, e.roundRobin(e.s.View) // a guess until the chain is whole
	}
	return e.s.View, e.leaderAfter(parent, e.s.View)
}

// BlocksHeld is how many blocks the engine keeps in memory.
func (e *Engine) BlocksHeld() int { return len(e.blocks) }

// View is the replica's current view.
func (e *Engine) View() uint64 { return e.s.View }

// genesis is the virtual block at height 0 that the zero ID names. It is
// shared and must never be modified.
var genesis = &types.Block{}

// block returns a known block; the zero ID is the genesis block.
func (e *Engine) block(id types.BlockID) (*types.Block, bool) {
	if id.IsZero() {
		return genesis, true
	}
	b, ok := e.blocks[id]
	return b, ok
}

// HasReady reports whether there is work for the driver.
func (e *Engine) HasReady() bool { return e.dirty || !e.out.IsEmpty() }

// Ready returns the work since the last Advance, safety state first.
func (e *Engine) Ready() types.Ready {
	rd := e.out
	if e.dirty {
		data, err := e.s.Marshal()
		if err != nil {
			panic(fmt.Sprintf("hotstuff: encoding safety state: %v", err))
		}
		rd.SafetyState = data
	}
	return rd
}

// Advance acknowledges the last Ready.
func (e *Engine) Advance(types.Ready) {
	e.out = types.Ready{}
	e.dirty = false
}

func (e *Engine) send(to types.ValidatorIndex, p types.Payload) {
	e.out.Messages = append(e.out.Messages, types.Message{From: e.cfg.ID, To: to, Payload: p})
}

func (e *Engine) broadcast(p types.Payload) {
	e.out.Messages = append(e.out.Messages, types.Message{From: e.cfg.ID, Broadcast: true, Payload: p})
}

// store keeps a block and asks the driver to make it durable.
func (e *Engine) store(id types.BlockID, b *types.Block) {
	if _, ok := e.blocks[id]; ok || id.IsZero() {
		return
	}
	e.blocks[id] = b
	e.out.Blocks = append(e.out.Blocks, b)
	delete(e.fetching, id)
}
