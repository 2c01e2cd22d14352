package protocol

import (
	"fmt"

	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// Class is what a message type is to the driver: which gateway checks it
// gets and what the driver does with it. The engine sees every class but
// Fetch, which the driver's block server answers from storage.
type Class uint8

const (
	// Vote is the default: verified, then stepped (votes, prepares,
	// commits, checkpoints, Raft's messages).
	Vote Class = iota
	// Proposal is a leader's block (a HotStuff proposal, a PBFT
	// pre-prepare): broadcast by gossip, checked against the view's
	// leader and a far-future budget before its signature, and offered
	// to the application (ProcessProposal) before the engine sees it.
	Proposal
	// Timeout is a replica giving up on a view (a HotStuff timeout):
	// counted as a view timeout when sent.
	Timeout
	// ViewChange is a PBFT view-change: counted as a view timeout when
	// sent; refused before verification when its view is below this
	// node's, and budgeted beyond the view window, because each carries
	// many signatures to check.
	ViewChange
	// NewView is a PBFT new-view: prechecked like a view-change, but the
	// new primary's, not a view this node gave up on.
	NewView
	// Fetch asks for blocks: the one catch-up request every protocol
	// shares (types.BlockRequest), by ID or by height. The driver's block
	// server answers it from storage, with a budget per peer; the engine
	// never sees it.
	Fetch
	// Response answers a Fetch (types.BlockResponse, with the stored
	// proof of a block fetched by height); accepted only up to what this
	// node asked that peer for.
	Response
)

// Descriptor is everything a driver needs to know about one protocol.
// Each engine package publishes one; the node and the simulator run every
// protocol through it, with no protocol-specific code of their own.
type Descriptor struct {
	Name string
	// New builds the engine from env.
	New func(env Env) (Engine, error)
	// Verify checks a decoded message's signatures and certificates
	// against the validator set; it runs on many goroutines at once.
	// Nil for a protocol that signs nothing.
	Verify func(v *qc.Verifier, m types.Message) error
	// Types are the message types the protocol uses, with their class;
	// the gateway refuses every other type before looking further.
	Types map[types.MsgType]Class
	// Leader names the leader of a view, for the gateway's proposal
	// check; a pure function, safe on any goroutine. Nil when the leader
	// is not a function of the view alone (HotStuff's reputation reads it
	// from the chain a proposal extends): the engine then checks it, and
	// the gateway only budgets proposals beyond the view window.
	Leader func(n int) func(view uint64) types.ValidatorIndex
	// ViewWindow is how far ahead of its view the engine takes proposals
	// and view changes; the gateway budgets those further ahead.
	ViewWindow uint64
	// Quorum is how many of n validators the protocol needs to commit.
	Quorum func(n int) int
	// CommitsNeedChildren says a block commits only once later blocks
	// build on it (HotStuff's three-chain), so an idle leader must keep
	// proposing while a block with transactions is pending.
	CommitsNeedChildren bool
	// CheckTiming says whether a leader that waits idleTicks ticks
	// before proposing an empty block fits the protocol's timeouts.
	// Nil: any wait fits.
	CheckTiming func(idleTicks float64) error
}

// Class is the class of message type t, and whether the protocol uses t
// at all.
func (d *Descriptor) Class(t types.MsgType) (Class, bool) {
	c, ok := d.Types[t]
	return c, ok
}

// Check reports a descriptor that a driver cannot run.
func (d *Descriptor) Check() error {
	switch {
	case d.Name == "":
		return fmt.Errorf("protocol: descriptor without a name")
	case d.New == nil || d.Quorum == nil || len(d.Types) == 0:
		return fmt.Errorf("protocol %s: descriptor lacks New, Quorum or Types", d.Name)
	}
	for t, c := range d.Types {
		if (c == Fetch) != (t == types.MsgBlockRequest) {
			return fmt.Errorf("protocol %s: %v is not the one catch-up request, BlockRequest, or is not a fetch", d.Name, t)
		}
	}
	return nil
}
