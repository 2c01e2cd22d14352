package types

// Engine is a consensus protocol as a deterministic state machine, in the
// shape of etcd raft's RawNode. It has no goroutines, clock, network, disk or
// global randomness: its driver (the node, or the simulator) feeds it inputs
// and carries out its Ready. The same engine code therefore runs unchanged in
// the simulator and in production.
//
// Inputs are trusted to be well-formed and authenticated: the driver decodes
// messages, runs ValidateBasic, checks that the sender is a validator and
// verifies signatures and certificates before Step. The engine still checks
// every protocol rule (views, digests, safety rules).
type Engine interface {
	// Step delivers one verified message from a peer. An error reports a
	// message the protocol rejects (stale, conflicting, ...). A rejected
	// message may still have moved the engine forward through the
	// certificates it carried (they were verified at the gateway), but
	// never through its rejected content.
	Step(m Message) error
	// Tick advances the engine's logical clock by one tick. Timeouts are
	// counted in ticks.
	Tick()
	// Propose hands the engine the payload it asked for with a
	// PayloadRequest. A payload for a request the engine no longer has
	// (its view has passed) is an error and is dropped.
	Propose(p ProposalPayload) error
	// HasReady reports whether Ready would return anything.
	HasReady() bool
	// Ready returns everything the engine wants done since the last Advance.
	// Calling Ready twice without Advance returns the same work again.
	Ready() Ready
	// Advance tells the engine that rd, the last value returned by Ready,
	// has been carried out as its contract says.
	Advance(rd Ready)
}

// Ready is the work an engine hands its driver. The driver carries it out
// in this order, and the order is what keeps an honest node honest across
// a crash:
//
//  1. SafetyState and Blocks. If SafetyState is non-nil it replaces the
//     stored safety state; Blocks are stored by ID. Both must be durable
//     (written and fsynced) before any message of this Ready, or of any
//     later Ready, is sent, and before Advance(rd). A Ready may carry
//     safety state and no messages (a leader that counted its own vote);
//     the rule still holds, because the messages that depend on it come
//     in a later Ready.
//
//     The safety state is everything a restarted node needs so that it
//     never signs something that conflicts with what it signed before:
//     HotStuff: last voted view, last proposed view and proposal, the
//     timeout sent for the current view (view and high QC view), locked
//     QC, high QC; PBFT: view, accepted pre-prepares, prepared
//     certificates, sent prepares and commits, the stable checkpoint; Raft:
//     HardState and entries. Losing a message is harmless; a vote that
//     leaves before its safety state is durable can, after a crash, be
//     followed by a conflicting vote.
//
//  2. Messages: send each to its recipient, or to every other validator if
//     Broadcast. Sending may fail or be lost; the protocols tolerate that.
//
//  3. Committed: apply these blocks to the application, in order, or store
//     them durably so that they are applied on restart, before
//     Advance(rd): after Advance the engine no longer holds them. They
//     extend the previously committed blocks with no gap.
//
//  4. PayloadRequest and Evidence: a request for transactions, answered
//     later through Propose, and proof of misbehaviour for the driver.
//     (Blocks an engine lacks it asks peers for itself, with BlockRequest
//     messages; the driver's block server answers peers' requests.)
//
// Then call Advance(rd). Between Ready and Advance the driver must not call
// Step, Tick or Propose: Advance acknowledges exactly rd, and anything the
// engine produces afterwards belongs to the next Ready. "Unchanged"
// (SafetyState nil) means unchanged since the last Ready that was advanced.
type Ready struct {
	// SafetyState is the engine's encoded safety state, nil if unchanged.
	SafetyState []byte
	// Blocks are blocks to store (by ID) before any message is sent, such
	// as a block the engine is about to vote for.
	Blocks []*Block
	// Messages are outbound messages, From set to this engine's validator.
	Messages []Message
	// Committed are newly committed blocks, in height order.
	Committed []CommittedBlock
	// PayloadRequest, if set, asks for transactions for a block this
	// engine will propose; answer with Propose.
	PayloadRequest *PayloadRequest
	// Evidence is proof of validators signing conflicting messages.
	Evidence []*DoubleSign
}

// IsEmpty reports whether rd asks for nothing.
func (rd *Ready) IsEmpty() bool {
	return rd.SafetyState == nil && len(rd.Blocks) == 0 && len(rd.Messages) == 0 &&
		len(rd.Committed) == 0 && rd.PayloadRequest == nil && len(rd.Evidence) == 0
}

// CommittedBlock is a block the protocol has committed, with its ID and the
// certificate that justified the commit (nil where the protocol has none).
type CommittedBlock struct {
	ID    BlockID
	Block *Block
	// Proof is the encoded certificate the protocol committed the block
	// with, stored beside it for lagging nodes: for PBFT a commit
	// certificate, which proves the commit alone; for HotStuff the QC that
	// completed the three-chain deciding this block or a descendant (all
	// blocks committed together share it), which proves the commit
	// together with the justify links of the blocks in between.
	Proof []byte
}

// PayloadRequest asks the driver for transactions for a block at Height,
// extending ParentID, in View. The reply must respect the limits.
type PayloadRequest struct {
	View     uint64
	Height   uint64
	ParentID BlockID
	MaxTxs   int
	MaxBytes int
}

// ProposalPayload answers a PayloadRequest.
type ProposalPayload struct {
	View uint64
	Txs  []Tx
	// ParentAppHash is the application hash after the parent, where the
	// driver knows it (nil when the parent is not yet executed).
	ParentAppHash []byte
}

// Message is one consensus message between validators.
type Message struct {
	// From is the validator that signed Payload; the gateway checks this
	// against the payload's own signer field, so relays are never senders.
	From ValidatorIndex
	// To is the recipient, unless Broadcast.
	To        ValidatorIndex
	Broadcast bool
	Payload   Payload
}

// Payload is one of the wire messages of messages.proto.
type Payload interface {
	MsgType() MsgType
	// Signer is the validator whose signature the payload carries.
	Signer() ValidatorIndex
	// ValidateBasic checks the payload's shape and limits, with no state.
	ValidateBasic() error
	Size() int
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
	String() string
}
