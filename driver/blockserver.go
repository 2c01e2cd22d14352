package driver

import (
	"errors"
	"fmt"
	"sync"

	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/types"
)

// BlockServerConfig bounds what a BlockServer serves.
type BlockServerConfig struct {
	Self       types.ValidatorIndex
	N          int
	Descriptor *protocol.Descriptor
	Source     BlockSource
	Clock      Clock
	// BlocksPerSecond and BytesPerSecond are each peer's budget.
	BlocksPerSecond, BytesPerSecond int
}

// BlockServer answers peers' block fetches from storage, which holds
// every block the engine stored (committed or pending), so a peer that
// fell behind the engine's in-memory window still catches up. Fetches are
// unsigned and cheap to send, serving them is not, so each peer has a
// budget in blocks and bytes per second, taken before anything is read.
// Safe for concurrent use.
type BlockServer struct {
	cfg    BlockServerConfig
	mu     sync.Mutex
	blocks []tokenBucket // by validator index
	bytes  []tokenBucket
}

// NewBlockServer builds a block server.
func NewBlockServer(cfg BlockServerConfig) (*BlockServer, error) {
	if cfg.Descriptor == nil || cfg.Source == nil || cfg.Clock == nil || cfg.N < 1 || cfg.BlocksPerSecond < 1 || cfg.BytesPerSecond < 1 {
		return nil, errors.New("driver: a block server needs a descriptor, a source, a clock, n and positive budgets")
	}
	return &BlockServer{cfg: cfg, blocks: make([]tokenBucket, cfg.N), bytes: make([]tokenBucket, cfg.N)}, nil
}

// ErrBudget is a fetch refused or cut short by its sender's budget.
var ErrBudget = errors.New("block fetch over the peer's budget")

// Admit takes one block from the budget of p's sender: a node calls it
// before queueing a fetch, so that a flood is dropped at once.
func (s *BlockServer) Admit(p types.Payload) error {
	if !s.allow(s.cfg.Descriptor.Fetch(p).Sender, 1, 0) {
		return ErrBudget
	}
	return nil
}

// Serve answers an admitted fetch, sending each block with send as it
// is read, until the request is satisfied, storage runs out of blocks,
// or the sender's budget does (ErrBudget).
func (s *BlockServer) Serve(p types.Payload, send func(types.Message)) error {
	r := s.cfg.Descriptor.Fetch(p)
	if r.ByID() {
		return s.serveByID(r, send)
	}
	return s.serveByHeight(r, send)
}

// serveByID sends the block and up to Ancestors−1 of its ancestors,
// newest first.
func (s *BlockServer) serveByID(r protocol.FetchRequest, send func(types.Message)) error {
	id := r.ID
	for i := range r.Ancestors {
		if i > 0 && !s.allow(r.Sender, 1, 0) { // the first was paid at admission
			return ErrBudget
		}
		b, ok, err := s.cfg.Source.BlockByID(id)
		if err != nil || !ok {
			return err
		}
		if !s.allow(r.Sender, 0, b.Size()) {
			return ErrBudget
		}
		send(types.Message{From: s.cfg.Self, To: r.Sender, Payload: &types.BlockResponse{Sender: s.cfg.Self, Block: b}})
		if b.Height <= 1 {
			return nil
		}
		id = b.ParentID
	}
	return nil
}

// serveByHeight sends committed blocks from r.From upward.
func (s *BlockServer) serveByHeight(r protocol.FetchRequest, send func(types.Message)) error {
	for i := range uint64(r.Count) {
		if i > 0 && !s.allow(r.Sender, 1, 0) {
			return ErrBudget
		}
		cb, ok, err := s.cfg.Source.CommittedBlock(r.From + i)
		if err != nil || !ok {
			return err
		}
		if !s.allow(r.Sender, 0, cb.Block.Size()) {
			return ErrBudget
		}
		var answer types.Payload = &types.BlockResponse{Sender: s.cfg.Self, Block: cb.Block}
		if s.cfg.Descriptor.Answer != nil {
			if answer, err = s.cfg.Descriptor.Answer(s.cfg.Self, cb); err != nil {
				return fmt.Errorf("driver: answering a fetch of height %d: %w", r.From+i, err)
			}
		}
		send(types.Message{From: s.cfg.Self, To: r.Sender, Payload: answer})
	}
	return nil
}

// allow takes k blocks and size bytes from peer's budget.
func (s *BlockServer) allow(peer types.ValidatorIndex, k, size int) bool {
	if int(peer) >= len(s.blocks) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Clock.Now()
	if !s.blocks[peer].take(now, float64(s.cfg.BlocksPerSecond), float64(k)) {
		return false
	}
	return s.bytes[peer].take(now, float64(s.cfg.BytesPerSecond), float64(size))
}
