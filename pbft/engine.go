package pbft

import (
	"errors"
	"fmt"
	"github.com/bftkit/bftkit/protocol"
	"maps"
	"slices"

	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// Errors Step returns for messages the protocol rejects.
var (
	ErrWrongView     = errors.New("message is not for this replica's current view")
	ErrOutOfWindow   = errors.New("sequence number is outside the watermarks")
	ErrNotPrimary    = errors.New("sender is not the primary of the view")
	ErrConflict      = errors.New("conflicts with an accepted pre-prepare")
	ErrBadNewView    = errors.New("new-view rejected")
	ErrUnrequested   = errors.New("block was not requested")
	ErrHalted        = errors.New("replica halted: its history conflicts with a quorum's")
	ErrNoPayloadWant = errors.New("no payload was requested for this view")
	ErrTooLarge      = errors.New("block exceeds the payload limits")
	ErrHasParent     = errors.New("a PBFT block names no parent (blocks are ordered by sequence number)")
)

// slot is one sequence number of the log (§4.2).
type slot struct {
	seq uint64
	// The accepted pre-prepare: view, digest, the primary's signature.
	hasPP  bool
	ppView uint64
	digest types.BlockID
	ppSig  []byte
	block  *types.Block // nil until it arrives (a new-view names only digests)
	// prepared is the certificate from the highest view this replica
	// prepared the number in.
	prepared *types.PBFTPrepared
	// commit is the commit certificate once committed-local in the current
	// view.
	commit *types.PBFTCert
	since  uint64 // tick of the last step forward, for resends
	// reported is set once a conflicting pre-prepare for (ppView, seq) was
	// reported as evidence.
	reported bool
}

func (s *slot) preparedIn(view uint64) bool { return s.prepared != nil && s.prepared.View == view }

// Engine is one PBFT replica. See the package comment.
type Engine struct {
	cfg       Config
	f, quorum int
	now       uint64

	// Durable state (PBFTSafety).
	view          uint64
	changing      bool
	myVC          *types.PBFTViewChange
	stable        *types.PBFTCert // nil: genesis
	low           uint64          // h, the stable checkpoint's sequence number
	log           map[uint64]*slot
	nextSeq       uint64
	consecutiveVC uint32

	blocks map[types.BlockID]*types.Block // blocks of log slots, by digest

	// Execution.
	executed  uint64
	history   types.BlockID
	cpDigests map[uint64]types.BlockID // own history at checkpoints above low
	cpTakenAt uint64                   // tick of the last checkpoint taken
	recent    map[uint64]types.CommittedBlock
	fetched   map[uint64]provenBlock // proven blocks waiting for their turn
	halted    error                  // why the replica stopped; nil while it runs

	// Vote counting.
	prepares, commits  VoteCollector
	prepQ, commitQ     map[qc.Slot]map[types.BlockID]*qc.Quorum
	checkpoints        CheckpointTracker
	vcs                map[types.ValidatorIndex]*types.PBFTViewChange // latest per replica
	nv                 *types.PBFTNewView                             // the new-view of view
	lateVC, nvAnswered map[types.ValidatorIndex]uint64                // see answerLateViewChange

	// Timers, in ticks.
	idle          int  // since the last execution, view entry or quorum of view-changes
	vcTimer       bool // a view change has its 2f+1 view-changes (§4.5.2)
	sinceResend   int
	awaitingBlock map[types.BlockID]*blockFetch
	early         []types.Payload // pre-prepares and votes held for a view not yet entered
	catchUp       *catchUp

	awaitingPayload bool
	requestedSeq    uint64 // the number the pending payload request is for

	out  outbox
	safe []byte // encoded safety state for the pending Ready, nil if unchanged
}

// outbox accumulates a Ready until Advance.
type outbox struct {
	dirty     bool
	blocks    []*types.Block
	msgs      []types.Message
	committed []types.CommittedBlock
	request   *types.PayloadRequest
	evidence  []*types.DoubleSign
}

// Restored is what survived a restart (protocol.Restored): the durable
// safety state, the stored blocks, and the tail of the committed chain (at
// least its last block, if any: its proof carries the history digest to
// resume from).
type Restored = protocol.Restored

// New builds a replica from cfg and what survived its last run.
func New(cfg Config, r Restored) (*Engine, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	e := &Engine{
		cfg: cfg, f: faults(cfg.N), quorum: quorum(cfg.N),
		log: make(map[uint64]*slot), blocks: make(map[types.BlockID]*types.Block),
		cpDigests: make(map[uint64]types.BlockID), recent: make(map[uint64]types.CommittedBlock),
		fetched: make(map[uint64]provenBlock),
		prepQ:   make(map[qc.Slot]map[types.BlockID]*qc.Quorum), commitQ: make(map[qc.Slot]map[types.BlockID]*qc.Quorum),
		vcs: make(map[types.ValidatorIndex]*types.PBFTViewChange), awaitingBlock: make(map[types.BlockID]*blockFetch),
		lateVC: make(map[types.ValidatorIndex]uint64), nvAnswered: make(map[types.ValidatorIndex]uint64),
		nextSeq: 1,
	}
	// Each replica votes in at most L numbers of the window per phase.
	window := int(cfg.WindowSize)
	e.prepares = qc.NewCollector(qc.CollectorConfig{N: cfg.N, Quorum: e.quorum - 1, MaxSlotsPerSigner: window})
	e.commits = cfg.Rules.commitCollector(qc.CollectorConfig{N: cfg.N, Quorum: e.quorum, MaxSlotsPerSigner: window})
	e.checkpoints = cfg.Rules.checkpointTracker(cfg.N, e.f, e.quorum)
	if err := e.restoreCommitted(r.Committed); err != nil {
		return nil, err
	}
	if err := e.restoreSafety(r.SafetyState, r.Blocks); err != nil {
		return nil, err
	}
	e.maybeRequestPayload()
	return e, nil
}

// restoreCommitted resumes execution after the last stored block.
func (e *Engine) restoreCommitted(tail []types.CommittedBlock) error {
	for _, cb := range tail {
		proof, err := DecodeProof(cb.Proof)
		if err != nil {
			return fmt.Errorf("pbft: committed block %d: %w", cb.Block.GetHeight(), err)
		}
		e.executed = cb.Block.Height
		copy(e.history[:], proof.HistoryDigest)
		e.remember(cb)
		if e.executed%e.cfg.CheckpointInterval == 0 {
			e.cpDigests[e.executed] = e.history
		}
	}
	return nil
}

// Halted is nil while the replica runs, and the reason once it stopped
// because its history conflicts with what a quorum decided: more than f
// replicas are faulty, or it is.
func (e *Engine) Halted() error { return e.halted }

// Position is the replica's view and that view's primary.
func (e *Engine) Position() (uint64, types.ValidatorIndex) { return e.view, e.primary(e.view) }

// Status is a snapshot of a replica's position, for status pages and
// tests.
type Status struct {
	View         uint64
	ViewChanging bool
	LowWatermark uint64 // h, the last stable checkpoint
	Executed     uint64 // the last executed sequence number
	LogSlots     int    // sequence numbers held in the log (at most L)
}

// Status reports the replica's position.
func (e *Engine) Status() Status {
	return Status{View: e.view, ViewChanging: e.changing, LowWatermark: e.low, Executed: e.executed, LogSlots: len(e.log)}
}

// Prepared returns the digest of the highest-view prepared certificate
// this replica holds for seq, if any.
func (e *Engine) Prepared(seq uint64) (types.BlockID, bool) {
	if s := e.log[seq]; s != nil && s.prepared != nil {
		return s.prepared.Digest, true
	}
	return types.BlockID{}, false
}

func (e *Engine) primary(view uint64) types.ValidatorIndex { return Primary(view, e.cfg.N) }
func (e *Engine) isPrimary() bool                          { return !e.changing && e.primary(e.view) == e.cfg.ID }

// slotFor returns the log entry for seq, creating it; seq must be inside
// the watermarks.
func (e *Engine) slotFor(seq uint64) *slot {
	s := e.log[seq]
	if s == nil {
		s = &slot{seq: seq, since: e.now}
		e.log[seq] = s
	}
	return s
}

// sortedSeqs lists the log's sequence numbers in order, so that everything
// derived from the log is deterministic.
func (e *Engine) sortedSeqs() []uint64 { return slices.Sorted(maps.Keys(e.log)) }

func (e *Engine) sign(msg []byte) []byte { return e.cfg.Signer.Sign(msg) }

func (e *Engine) broadcast(p types.Payload) {
	e.out.msgs = append(e.out.msgs, types.Message{From: e.cfg.ID, Broadcast: true, Payload: p})
}

func (e *Engine) send(to types.ValidatorIndex, p types.Payload) {
	if to == e.cfg.ID {
		return
	}
	e.out.msgs = append(e.out.msgs, types.Message{From: e.cfg.ID, To: to, Payload: p})
}

// dirty marks the safety state changed: the next Ready carries it.
func (e *Engine) dirty() {
	e.out.dirty = true
	e.safe = nil
}

func (e *Engine) storeBlock(b *types.Block) {
	id := b.ID()
	if _, ok := e.blocks[id]; !ok {
		e.blocks[id] = b
		e.out.blocks = append(e.out.blocks, b)
	}
}

// Step delivers one verified message.
func (e *Engine) Step(m types.Message) error {
	if e.halted != nil {
		return fmt.Errorf("%w: %w", ErrHalted, e.halted)
	}
	if int(m.From) >= e.cfg.N || m.From == e.cfg.ID {
		return fmt.Errorf("pbft: message from %d, not a peer of replica %d of %d", m.From, e.cfg.ID, e.cfg.N)
	}
	switch p := m.Payload.(type) {
	case *types.PBFTPrePrepare:
		return e.onPrePrepare(p)
	case *types.PBFTVote:
		return e.onVote(p)
	case *types.PBFTViewChange:
		return e.onViewChange(p)
	case *types.PBFTNewView:
		return e.onNewView(p)
	case *types.BlockResponse:
		if len(p.Proof) > 0 {
			return e.onCommitted(p)
		}
		return e.onBlockResponse(p)
	}
	return fmt.Errorf("pbft: %v is not a PBFT message", m.Payload.MsgType())
}

// Propose turns the payload the engine asked for into a pre-prepare for
// the next sequence number (§4.2).
func (e *Engine) Propose(p types.ProposalPayload) error {
	if !e.awaitingPayload || !e.isPrimary() || p.View != e.view {
		return fmt.Errorf("pbft: payload for view %d: %w", p.View, ErrNoPayloadWant)
	}
	e.awaitingPayload = false
	seq := e.requestedSeq
	if s := e.log[seq]; seq <= e.executed || !inWatermarks(seq, e.low, e.cfg.WindowSize) || (s != nil && s.hasPP && s.ppView == e.view) {
		// Execution or the window moved since the request (a catch-up), or
		// the number was assigned meanwhile: never assign one twice.
		e.maybeRequestPayload()
		return fmt.Errorf("pbft: payload for %d, no longer next inside (%d, %d]: %w", seq, e.low, e.low+e.cfg.WindowSize, ErrNoPayloadWant)
	}
	b := &types.Block{Height: seq, View: e.view, Proposer: e.cfg.ID, Txs: p.Txs, ParentAppHash: p.ParentAppHash}
	if err := validPayload(b, e.checkPayloadLimits); err != nil {
		e.maybeRequestPayload() // ask again rather than stall the view
		return fmt.Errorf("pbft: payload: %w", err)
	}
	d := b.ID()
	sig := e.sign(types.PrePrepareSignBytes(e.cfg.ChainID, e.view, seq, d))
	e.nextSeq = seq + 1
	e.acceptPrePrepare(e.slotFor(seq), e.view, d, sig, b)
	e.broadcast(&types.PBFTPrePrepare{View: e.view, Seq: seq, Block: b, Primary: e.cfg.ID, Signature: sig})
	e.maybeRequestPayload()
	return nil
}

func validPayload(b *types.Block, limits func(*types.Block) error) error {
	if err := b.ValidateBasic(); err != nil {
		return err
	}
	return limits(b)
}

// maybeRequestPayload asks the driver for the next block when this replica
// is the primary, the number is inside the window and the pipeline has
// room.
func (e *Engine) maybeRequestPayload() {
	if e.halted != nil || e.awaitingPayload || !e.isPrimary() {
		return
	}
	seq := max(e.nextSeq, e.executed+1)
	if !inWatermarks(seq, e.low, e.cfg.WindowSize) || seq-e.executed > uint64(e.cfg.MaxInFlight) {
		return
	}
	e.awaitingPayload, e.requestedSeq = true, seq
	e.out.request = &types.PayloadRequest{View: e.view, Height: seq, MaxTxs: e.cfg.MaxTxs, MaxBytes: e.cfg.MaxBytes}
}

// HasReady reports whether Ready would return anything.
func (e *Engine) HasReady() bool {
	o := &e.out
	return o.dirty || len(o.blocks) > 0 || len(o.msgs) > 0 || len(o.committed) > 0 || o.request != nil || len(o.evidence) > 0
}

// Ready returns the work accumulated since the last Advance.
func (e *Engine) Ready() types.Ready {
	rd := types.Ready{
		Blocks: e.out.blocks, Messages: e.out.msgs, Committed: e.out.committed,
		PayloadRequest: e.out.request, Evidence: e.out.evidence,
	}
	if e.out.dirty {
		if e.safe == nil {
			e.safe = e.encodeSafety()
		}
		rd.SafetyState = e.safe
	}
	return rd
}

// Advance acknowledges the last Ready.
func (e *Engine) Advance(types.Ready) {
	e.out = outbox{}
	e.safe = nil
}
