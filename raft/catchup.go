package raft

import (
	"fmt"

	"github.com/bftkit/bftkit/types"
)

// catchUp fetches the blocks a snapshot skipped, upward from this node's
// last committed block to the one the snapshot names, a window of
// types.MaxBlockRequestAncestors at a time. Each block must name the
// previous one as its parent, and the last must be the snapshot's, so
// only that chain is taken; memory stays at one window however long the
// gap.
type catchUp struct {
	target  blockRef
	peer    types.ValidatorIndex
	sentAt  uint64
	askedTo uint64                  // the highest height the last request covers
	window  map[uint64]*types.Block // received, above the committed block
	after   []*types.Block          // committed entries that arrived meanwhile
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
	e.catchUp = &catchUp{after: after, target: target, peer: from, window: make(map[uint64]*types.Block)}
	e.requestBlocks()
}

// requestBlocks asks for the next window above the committed block.
func (e *Engine) requestBlocks() {
	c := e.catchUp
	from := e.committed.height + 1
	count := min(c.target.height-e.committed.height, types.MaxBlockRequestAncestors)
	c.sentAt, c.askedTo = e.now, from+count-1
	e.out.msgs = append(e.out.msgs, types.Message{From: e.cfg.ID, To: c.peer,
		Payload: &types.BlockRequest{Sender: e.cfg.ID, FromHeight: from, Count: uint32(count)}})
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

// onBlockResponse keeps a block of the window being fetched (answers may
// arrive in any order) and commits the window's prefix that extends the
// committed chain.
func (e *Engine) onBlockResponse(r *types.BlockResponse) error {
	c := e.catchUp
	b := r.Block
	if c == nil || b.Height <= e.committed.height || b.Height > min(c.target.height, e.committed.height+types.MaxBlockRequestAncestors) {
		return ErrUnrequested
	}
	c.window[b.Height] = b
	for {
		next := c.window[e.committed.height+1]
		if next == nil {
			break
		}
		delete(c.window, next.Height)
		if next.ParentID != e.committed.id || (next.Height == c.target.height && next.ID() != c.target.id) {
			// Not the chain the snapshot named: drop what this peer sent
			// and ask another.
			clear(c.window)
			c.sentAt = 0
			return fmt.Errorf("raft: fetched block %d does not extend the committed chain toward the snapshot's block", next.Height)
		}
		e.emit(next, next.ID())
		c.sentAt = e.now // progress: the peer is answering
		if e.committed.height == c.target.height {
			return e.finishCatchUp()
		}
	}
	if e.committed.height >= c.askedTo {
		e.requestBlocks() // the window is done: ask for the next one
	}
	return nil
}

// finishCatchUp hands out the committed entries that waited behind the
// fetched blocks.
func (e *Engine) finishCatchUp() error {
	c := e.catchUp
	e.catchUp = nil
	for _, a := range c.after {
		e.commitBlock(a, a.ID())
	}
	e.applied = max(e.applied, e.seen) // everything etcd raft applied is handed out now
	e.out.dirty = true
	return nil
}
