package raft

import (
	"errors"
	"fmt"
	"github.com/bftkit/bftkit/protocol"
	"io"
	"log"
	"math/rand/v2"

	etcdraft "go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/bftkit/bftkit/types"
)

// Errors Step and Propose return.
var (
	ErrNotForMe      = errors.New("raft message is addressed to another node or misnames its sender")
	ErrNoPayloadWant = errors.New("no payload was requested")
	ErrUnrequested   = errors.New("block was not requested")
)

// logEntry mirrors one entry of the raft log: what is persisted of it.
type logEntry struct {
	index, term uint64
	block       types.BlockID // zero for an entry without a block
	height      uint64
}

// blockRef names a block by height and ID.
type blockRef struct {
	height uint64
	id     types.BlockID
}

// Engine is one Raft node. See the package comment.
type Engine struct {
	cfg Config
	rn  *etcdraft.RawNode
	ms  *etcdraft.MemoryStorage
	now uint64

	// Durable state, mirrored for encoding (RaftSafety).
	hs      *raftpb.HardState
	snap    logEntry // the snapshot point: index, term, last block before it
	log     []logEntry
	applied uint64 // the last entry whose block (if any) the driver has
	seen    uint64 // the last entry etcd raft applied

	blocks    map[types.BlockID]*types.Block // blocks of log entries
	committed blockRef                       // the last block handed to the driver
	decided   uint64                         // the highest block raft committed, handed out or waiting
	recent    map[types.BlockID]*types.Block // the last committed blocks, which log entries may name
	order     []types.BlockID                // recent, oldest first
	tail      blockRef                       // the last block of this node's own log
	// proposed are the blocks this node proposed and etcd raft has not yet
	// handed back as log entries, oldest first: appending its own entry,
	// a leader takes the block from here instead of decoding and hashing
	// the entry's bytes again. At most MaxInFlight+1 (see Propose).
	proposed []proposedBlock

	awaitingPayload bool
	snapFrom        types.ValidatorIndex // sender of the last snapshot stepped
	catchUp         *catchUp

	out    outbox
	cached *types.Ready
	raftRd *etcdraft.Ready
	rand   *rand.Rand    // Config.Rand: the election timeouts' seeded source
	clock  electionClock // etcd raft's election clock and timeout (determinism.go)
	// lastFloor is a lower bound of etcd raft's last log index, exact after
	// every Ready, that the message checks use (validate.go).
	lastFloor uint64
	// snapsSent are followers sent a snapshot in the last Ready; etcd raft
	// is told after Advance (ReportSnapshot), so that it resumes
	// replicating to them rather than waiting forever.
	snapsSent []uint64
}

type outbox struct {
	msgs    []types.Message
	request *types.PayloadRequest
	blocks  []*types.Block
	commits []types.CommittedBlock
	dirty   bool
}

// Restored is what survived a restart (protocol.Restored): the durable
// safety state, the stored blocks, the tail of the committed chain (at
// least its last block), and Lookup for a stored block that is neither
// pending nor in the tail (the log may reach further back).
type Restored = protocol.Restored

// New builds a node from cfg and what survived its last run. cfg.Rand must
// be set (ErrNoRand): the engine is deterministic given its inputs and that
// source. A validator should seed it from values that are fixed for it, such
// as its chain ID and validator index (or public key), so that a replayed
// run draws the same timeouts, while different validators draw different
// ones.
//
// New fails, naming the field, if the etcd raft linked in lacks a field
// that determinism.go reaches into (it is written against
// pinnedEtcdRaftVersion).
func New(cfg Config, r Restored) (*Engine, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, rand: cfg.Rand, ms: etcdraft.NewMemoryStorage(), blocks: make(map[types.BlockID]*types.Block),
		recent: make(map[types.BlockID]*types.Block), hs: &raftpb.HardState{}}
	for _, cb := range r.Committed {
		e.committed = blockRef{cb.Block.Height, cb.ID}
		e.remember(cb.Block, cb.ID)
	}
	lookup := func(id types.BlockID) *types.Block {
		if b := r.Blocks[id]; b != nil {
			return b
		}
		if b := e.recent[id]; b != nil {
			return b
		}
		if r.Lookup != nil {
			if b, err := r.Lookup(id); err == nil {
				return b
			}
		}
		return nil
	}
	if err := e.restore(r.SafetyState, lookup); err != nil {
		return nil, err
	}
	rn, err := etcdraft.NewRawNode(&etcdraft.Config{
		ID: raftID(cfg.ID), ElectionTick: cfg.ElectionTicks, HeartbeatTick: cfg.HeartbeatTicks,
		Storage: e.ms, Applied: e.applied, MaxSizePerMsg: cfg.MaxSizePerMsg, MaxInflightMsgs: cfg.MaxInflightMsgs,
		MaxUncommittedEntriesSize: uint64(cfg.MaxInFlight+1) * uint64(cfg.MaxBytes+cfg.MaxTxs*16+1024),
		CheckQuorum:               true, PreVote: true,
		Logger: &etcdraft.DefaultLogger{Logger: log.New(io.Discard, "", 0)},
	})
	if err != nil {
		return nil, fmt.Errorf("raft: %w", err)
	}
	e.rn = rn
	if e.clock, err = etcdClock(rn); err != nil {
		return nil, err
	}
	e.pinElectionTimeout()
	e.lastFloor = e.storedLastIndex()
	e.recomputeTail()
	if e.snap.height > e.committed.height {
		// Crashed while fetching what a snapshot skipped: fetch again.
		e.startCatchUp(blockRef{e.snap.height, e.snap.block}, (cfg.ID+1)%types.ValidatorIndex(cfg.N))
	}
	return e, nil
}

// Leader reports the current leader (ok false when none is known) and the
// term.
func (e *Engine) Leader() (types.ValidatorIndex, uint64, bool) {
	st := e.rn.BasicStatus()
	if st.Lead == 0 {
		return 0, st.GetTerm(), false
	}
	return validator(st.Lead), st.GetTerm(), true
}

// Term is the current term (the "view" the node reports).
func (e *Engine) Term() uint64 { return e.rn.BasicStatus().GetTerm() }

func (e *Engine) isLeader() bool { return e.rn.BasicStatus().RaftState == etcdraft.StateLeader }

// Tick advances etcd raft's clock and retries a pending catch-up.
func (e *Engine) Tick() {
	e.now++
	e.rn.Tick()
	e.pinElectionTimeout()
	e.retryCatchUp()
	e.maybeRequestPayload()
}

// Step delivers one message from a peer.
func (e *Engine) Step(m types.Message) error {
	if int(m.From) >= e.cfg.N || m.From == e.cfg.ID {
		return fmt.Errorf("raft: message from %d, not a peer of %d of %d", m.From, e.cfg.ID, e.cfg.N)
	}
	switch p := m.Payload.(type) {
	case *types.RaftMessage:
		return e.stepRaft(m.From, p)
	case *types.BlockResponse:
		return e.onBlockResponse(p)
	}
	return fmt.Errorf("raft: %v is not a Raft message", m.Payload.MsgType())
}

// maxEntriesPerMessage bounds the entries one raft message may carry, checked
// on the raw bytes before decoding (each costs an allocation).
// etcd raft packs up to MaxSizePerMsg (1 MiB) of entries into an append;
// an empty block is about 100 bytes, so this leaves room for ten times
// that many, and bounds decoding to a few MB.
const maxEntriesPerMessage = 1 << 16

func (e *Engine) stepRaft(from types.ValidatorIndex, p *types.RaftMessage) error {
	if n, err := countEntries(p.Message); err != nil || n > maxEntriesPerMessage {
		return fmt.Errorf("raft: message with %d entries (limit %d): %v", n, maxEntriesPerMessage, err)
	}
	msg := new(raftpb.Message)
	if err := proto.Unmarshal(p.Message, msg); err != nil {
		return fmt.Errorf("raft: decode: %w", err)
	}
	if msg.GetFrom() != raftID(from) || msg.GetTo() != raftID(e.cfg.ID) {
		return ErrNotForMe
	}
	// Nothing reaches etcd raft that could make it panic (validate.go).
	st := e.rn.BasicStatus()
	if err := e.checkMessage(msg, st); err != nil {
		return err
	}
	for _, ent := range msg.GetEntries() {
		if len(ent.GetData()) > 0 {
			if _, err := decodeBlock(ent.GetData()); err != nil {
				return err
			}
		}
	}
	if msg.GetType() == raftpb.MessageType_MsgSnap {
		e.snapFrom = from
	}
	e.lowerFloor(msg, st)
	err := e.rn.Step(msg)
	e.pinElectionTimeout()
	if err != nil {
		return fmt.Errorf("raft: %w", err)
	}
	return nil
}

// Propose appends the payload the engine asked for as the next block of
// the leader's log.
func (e *Engine) Propose(p types.ProposalPayload) error {
	if !e.awaitingPayload {
		return ErrNoPayloadWant
	}
	e.awaitingPayload = false
	if !e.isLeader() {
		return ErrNoPayloadWant // leadership moved since the request
	}
	b := &types.Block{Height: e.tail.height + 1, View: e.Term(), ParentID: e.tail.id, Proposer: e.cfg.ID,
		Txs: capTxs(p.Txs, e.cfg.MaxTxs, e.cfg.MaxBytes), ParentAppHash: p.ParentAppHash}
	if err := b.ValidateBasic(); err != nil {
		e.maybeRequestPayload()
		return fmt.Errorf("raft: payload: %w", err)
	}
	data, err := b.Marshal()
	if err != nil {
		return fmt.Errorf("raft: encode block: %w", err)
	}
	if err := e.rn.Propose(data); err != nil {
		return fmt.Errorf("raft: propose: %w", err)
	}
	e.tail = blockRef{b.Height, b.ID()}
	e.blocks[e.tail.id] = b
	e.proposed = append(e.proposed, proposedBlock{data: data, block: b, id: e.tail.id})
	if len(e.proposed) > e.cfg.MaxInFlight+1 {
		e.proposed = e.proposed[1:] // dropped by etcd raft (leadership lost): never appended
	}
	e.maybeRequestPayload()
	return nil
}

// maybeRequestPayload asks for the next block when this node leads and the
// pipeline has room.
func (e *Engine) maybeRequestPayload() {
	// A leader still fetching what a snapshot skipped proposes too: its
	// log is as complete as anyone's (or it would not have been elected),
	// so its tail is right, and its own blocks wait behind the fetch.
	if e.awaitingPayload || !e.isLeader() || e.tail.height-max(e.decided, e.committed.height) >= uint64(e.cfg.MaxInFlight) {
		return
	}
	e.awaitingPayload = true
	e.out.request = &types.PayloadRequest{View: e.Term(), Height: e.tail.height + 1, ParentID: e.tail.id, MaxTxs: e.cfg.MaxTxs, MaxBytes: e.cfg.MaxBytes}
}

// HasReady reports whether Ready would return anything.
func (e *Engine) HasReady() bool {
	o := &e.out
	return e.cached != nil || e.rn.HasReady() || len(o.msgs) > 0 || o.request != nil || len(o.blocks) > 0 || len(o.commits) > 0 || o.dirty
}

// Ready turns etcd raft's Ready into the engine contract's, once; repeated
// calls return the same value until Advance.
func (e *Engine) Ready() types.Ready {
	if e.cached != nil {
		return *e.cached
	}
	if e.rn.HasReady() {
		rd := e.rn.Ready()
		e.raftRd = &rd
		e.absorb(&rd)
	}
	// Storage now holds etcd raft's whole log (validate.go).
	e.lastFloor = e.storedLastIndex()
	rd := types.Ready{Messages: e.out.msgs, PayloadRequest: e.out.request, Blocks: e.out.blocks, Committed: e.out.commits}
	if e.out.dirty {
		rd.SafetyState = e.encodeSafety()
	}
	e.cached = &rd
	return rd
}

// absorb applies etcd raft's Ready to the mirror and the outbox: snapshot,
// entries and hard state to storage (the driver makes them durable through
// SafetyState and Blocks), committed entries to blocks, messages to the
// wire.
func (e *Engine) absorb(rd *etcdraft.Ready) {
	if !etcdraft.IsEmptySnap(rd.Snapshot) {
		e.applySnapshot(rd.Snapshot)
	}
	if len(rd.Entries) > 0 {
		e.appendEntries(rd.Entries)
	}
	if !etcdraft.IsEmptyHardState(rd.HardState) {
		e.hs = proto.Clone(rd.HardState).(*raftpb.HardState)
		_ = e.ms.SetHardState(rd.HardState)
		e.out.dirty = true
	}
	for _, ent := range rd.CommittedEntries {
		e.applyEntry(ent)
	}
	for _, m := range rd.Messages {
		if m.GetType() == raftpb.MessageType_MsgSnap {
			e.snapsSent = append(e.snapsSent, m.GetTo())
		}
		data, err := proto.Marshal(m)
		if err != nil {
			continue // a message etcd raft built always encodes
		}
		e.out.msgs = append(e.out.msgs, types.Message{From: e.cfg.ID, To: validator(m.GetTo()),
			Payload: &types.RaftMessage{Sender: e.cfg.ID, Message: data}})
	}
	if rd.SoftState != nil {
		// Leadership changed: a pending request is void, and the next
		// block builds on this node's own log.
		e.awaitingPayload, e.out.request, e.proposed = false, nil, nil
		e.recomputeTail()
	}
}

// Advance acknowledges the last Ready, then compacts the log.
func (e *Engine) Advance(types.Ready) {
	if e.raftRd != nil {
		e.rn.Advance(*e.raftRd)
	}
	for _, to := range e.snapsSent {
		e.rn.ReportSnapshot(to, etcdraft.SnapshotFinish)
	}
	e.pinElectionTimeout()
	e.snapsSent = e.snapsSent[:0]
	e.raftRd, e.cached = nil, nil
	e.out = outbox{}
	e.compact()
	e.maybeRequestPayload()
}

func capTxs(txs []types.Tx, maxTxs, maxBytes int) []types.Tx {
	size := 0
	for i, tx := range txs {
		size += len(tx)
		if i == maxTxs || size > maxBytes {
			return txs[:i]
		}
	}
	return txs
}

func decodeBlock(data []byte) (*types.Block, error) {
	b := new(types.Block)
	if err := b.Unmarshal(data); err != nil {
		return nil, fmt.Errorf("raft: entry data is not a block: %w", err)
	}
	if err := b.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("raft: entry block: %w", err)
	}
	return b, nil
}
