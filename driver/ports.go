package driver

import (
	"time"

	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/types"
)

// Storage makes the durable part of a Ready durable.
type Storage interface {
	// Persist makes rd's SafetyState, Blocks and Committed durable
	// (written and synced) before it returns. An error stops the driver:
	// sending after a failed persist could sign something a restart would
	// contradict.
	Persist(rd *types.Ready) error
}

// Transport carries messages to other validators. Send must not block
// for long (the engine waits); losing a message is allowed.
type Transport interface {
	// Send transmits m, of the given class, to m.To or, if m.Broadcast,
	// to every other validator. Messages a validator addresses to itself
	// never reach the transport.
	Send(m types.Message, class protocol.Class)
}

// Application receives what the engine decided.
type Application interface {
	// Commit hands over newly committed blocks, already durable, in
	// height order. An error stops the driver.
	Commit(cbs []types.CommittedBlock) error
	// Evidence hands over proof that validators signed conflicting
	// messages.
	Evidence(evs []*types.DoubleSign)
}

// Payloads answers a leader's requests for transactions.
type Payloads interface {
	// Waiting reports whether transactions wait to be proposed.
	Waiting() bool
	// Payload fills a block for req; the engine checks its limits again.
	Payload(req *types.PayloadRequest) types.ProposalPayload
}

// Clock tells the time, for payload pacing and per-peer budgets. Engines
// count ticks; only these policies outside them need a clock.
type Clock interface{ Now() time.Time }

// WallClock is the real clock.
type WallClock struct{}

// Now is time.Now.
func (WallClock) Now() time.Time { return time.Now() }

// BlockSource is the storage the block server reads.
type BlockSource interface {
	// BlockByID is a stored block (committed or pending); ok false if
	// there is none.
	BlockByID(id types.BlockID) (b *types.Block, ok bool, err error)
	// CommittedBlock is the committed block at height, with its proof;
	// ok false above the committed height or below what is kept.
	CommittedBlock(height uint64) (cb types.CommittedBlock, ok bool, err error)
}
