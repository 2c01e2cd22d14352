package driver

import (
	"errors"
	"fmt"
	"sync"

	"github.com/bftkit/bftkit/types"
)

// BlockServerConfig bounds what a BlockServer serves.
type BlockServerConfig struct {
	Self   types.ValidatorIndex
	N      int
	Source BlockSource
	Clock  Clock
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
	if cfg.Source == nil || cfg.Clock == nil || cfg.N < 1 || cfg.BlocksPerSecond < 1 || cfg.BytesPerSecond < 1 {
		return nil, errors.New("driver: a block server needs a source, a clock, n and positive budgets")
	}
	return &BlockServer{cfg: cfg, blocks: make([]tokenBucket, cfg.N), bytes: make([]tokenBucket, cfg.N)}, nil
}

// ErrBudget is a fetch refused or cut short by its sender's budget.
var ErrBudget = errors.New("block fetch over the peer's budget")

// Admit takes one block from the budget of r's sender: a node calls it
// before queueing a fetch, so that a flood is dropped at once.
func (s *BlockServer) Admit(r *types.BlockRequest) error {
	if !s.allow(r.Sender, 1, 0) {
		return ErrBudget
	}
	return nil
}

// Serve answers an admitted fetch, sending each block with send as it
// is read, until the request is satisfied, storage runs out of blocks,
// or the sender's budget does (ErrBudget).
func (s *BlockServer) Serve(r *types.BlockRequest, send func(types.Message)) error {
	if r.ByHeight() {
		return s.serveByHeight(r, send)
	}
	return s.serveByID(r, send)
}

// serveByID sends the block and up to Ancestors−1 of its ancestors,
// newest first.
func (s *BlockServer) serveByID(r *types.BlockRequest, send func(types.Message)) error {
	id := r.BlockID
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

// serveByHeight sends committed blocks from r.FromHeight upward, each
// with the proof stored beside it (a PBFT commit certificate proves the
// block on its own).
func (s *BlockServer) serveByHeight(r *types.BlockRequest, send func(types.Message)) error {
	for i := range uint64(r.Count) {
		if i > 0 && !s.allow(r.Sender, 1, 0) {
			return ErrBudget
		}
		cb, ok, err := s.cfg.Source.CommittedBlock(r.FromHeight + i)
		if err != nil || !ok {
			return err
		}
		if !s.allow(r.Sender, 0, cb.Block.Size()+len(cb.Proof)) {
			return ErrBudget
		}
		if len(cb.Proof) > types.MaxProofBytes {
			return fmt.Errorf("driver: the stored proof of height %d is %d bytes, above the %d a peer accepts", cb.Block.Height, len(cb.Proof), types.MaxProofBytes)
		}
		send(types.Message{From: s.cfg.Self, To: r.Sender,
			Payload: &types.BlockResponse{Sender: s.cfg.Self, Block: cb.Block, Proof: cb.Proof}})
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
