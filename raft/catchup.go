package raft

import (
	"fmt"

	"github.com/bftkit/bftkit/types"
)

// catchUp fetches the blocks a snapshot skipped: from the block it names
// back to this node's last committed one, by parent links.
type catchUp struct {
	target     blockRef
	want       types.BlockID // the next block to receive, walking down
	wantHeight uint64        // its height
	askedLow   uint64        // the lowest height the last request covers
	peer       types.ValidatorIndex
	sentAt     uint64
	fetched    map[uint64]*types.Block        // the chain so far, by height
	received   map[types.BlockID]*types.Block // blocks that arrived ahead of their turn
	after      []*types.Block                 // committed entries that arrived meanwhile
}

// peerToAsk is whom a catch-up asks first: the given peer unless it is this
// node, else the leader if known, else the next node.
func (e *Engine) peerToAsk(from types.ValidatorIndex) types.ValidatorIndex {
	if from != e.cfg.ID {
		return from
	}
	if e.rn != nil {
		if l := e.rn.BasicStatus().Lead; l != 0 && validator(l) != e.cfg.ID {
			return validator(l)
		}
	}
	return (e.cfg.ID + 1) % types.ValidatorIndex(e.cfg.N)
}

func (e *Engine) startCatchUp(target blockRef, from types.ValidatorIndex) {
	from = e.peerToAsk(from)
	var after []*types.Block
	if c := e.catchUp; c != nil {
		if c.target.height >= target.height {
			return
		}
		// A later snapshot: what waited behind the old target and is above
		// the new one still waits.
		for _, b := range c.after {
			if b.Height > target.height {
				after = append(after, b)
			}
		}
	}
	e.catchUp = &catchUp{after: after, target: target, want: target.id, wantHeight: target.height, peer: from,
		fetched: make(map[uint64]*types.Block), received: make(map[types.BlockID]*types.Block)}
	e.requestBlocks()
}

func (e *Engine) requestBlocks() {
	c := e.catchUp
	lowest := c.target.height
	for c.fetched[lowest] != nil {
		lowest--
	}
	n := min(lowest-e.committed.height, types.MaxBlockRequestAncestors)
	c.sentAt = e.now
	c.askedLow = lowest - max(n, 1) + 1
	e.out.msgs = append(e.out.msgs, types.Message{From: e.cfg.ID, To: c.peer,
		Payload: &types.BlockRequest{Sender: e.cfg.ID, BlockID: c.want, Ancestors: uint32(max(n, 1))}})
}

// retryCatchUp asks the next node when an answer is overdue.
func (e *Engine) retryCatchUp() {
	c := e.catchUp
	if c == nil || e.now-c.sentAt < uint64(e.cfg.ElectionTicks) {
		return
	}
	c.peer = (c.peer + 1) % types.ValidatorIndex(e.cfg.N)
	if c.peer == e.cfg.ID {
		c.peer = (c.peer + 1) % types.ValidatorIndex(e.cfg.N)
	}
	e.requestBlocks()
}

// onBlockResponse keeps a block of the range being fetched (responses may
// arrive in any order), then walks the parent links down from the block
// the catch-up waits for. Each link is checked by ID, which commits to the
// block's contents, so only the chain the snapshot named is taken. Once it
// reaches the last committed block, they are all committed in order.
func (e *Engine) onBlockResponse(r *types.BlockResponse) error {
	c := e.catchUp
	b := r.Block
	if c == nil || b.Height <= e.committed.height || b.Height > c.wantHeight || uint64(len(c.received)) > c.target.height-e.committed.height {
		return ErrUnrequested
	}
	c.received[b.ID()] = b
	for {
		next := c.received[c.want]
		if next == nil {
			return nil
		}
		delete(c.received, c.want)
		if next.Height != c.wantHeight {
			return fmt.Errorf("raft: fetched block %v has height %d, its child says %d", c.want, next.Height, c.wantHeight)
		}
		c.fetched[next.Height] = next
		c.sentAt = e.now // progress: the peer is answering
		if next.Height-1 == e.committed.height {
			return e.finishCatchUp(next)
		}
		c.want, c.wantHeight = next.ParentID, next.Height-1
		if next.Height <= c.askedLow {
			e.requestBlocks() // the last request is answered: ask for the next stretch
		}
	}
}

// finishCatchUp commits the fetched chain, whose lowest block is low, then
// the committed entries that waited behind it.
func (e *Engine) finishCatchUp(low *types.Block) error {
	c := e.catchUp
	if low.ParentID != e.committed.id {
		return fmt.Errorf("raft: fetched block %d does not extend the committed block %v", low.Height, e.committed.id)
	}
	e.catchUp = nil
	for h := low.Height; h <= c.target.height; h++ {
		e.commitBlock(c.fetched[h])
	}
	for _, a := range c.after {
		e.commitBlock(a)
	}
	e.applied = max(e.applied, e.seen) // everything etcd raft applied is handed out now
	e.out.dirty = true
	return nil
}

// onBlockRequest answers from the log's blocks and the recent committed
// ones, walking parent links for the ancestors asked for.
func (e *Engine) onBlockRequest(r *types.BlockRequest) {
	id := r.BlockID
	for range r.Ancestors {
		b := e.blocks[id]
		if b == nil {
			b = e.recent[id]
		}
		if b == nil {
			return
		}
		e.out.msgs = append(e.out.msgs, types.Message{From: e.cfg.ID, To: r.Sender, Payload: &types.BlockResponse{Sender: e.cfg.ID, Block: b}})
		if b.Height <= 1 {
			return
		}
		id = b.ParentID
	}
}
