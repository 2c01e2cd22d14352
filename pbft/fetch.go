package pbft

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"github.com/bftkit/bftkit/types"
)

// This file is how a replica gets what it lacks: committed blocks with
// their commit certificates when it falls behind (state transfer, §4.3),
// and blocks a new-view names only by digest.

// catchUp is a replica fetching committed blocks up to target, whose
// history digest must come out as digest (zero: a gap below a
// pre-prepare, with no checkpoint to compare).
type catchUp struct {
	target uint64
	digest types.BlockID
	peers  []types.ValidatorIndex // replicas that vouched for the target
	next   int                    // which of them to ask next
	asked  uint64                 // the last number asked for
	sentAt uint64
}

func (e *Engine) startCatchUp(target uint64, digest types.BlockID, signers []types.ValidatorIndex) {
	peers := slices.DeleteFunc(slices.Clone(signers), func(i types.ValidatorIndex) bool { return i == e.cfg.ID })
	if len(peers) == 0 {
		return
	}
	if c := e.catchUp; c != nil && e.executed < c.asked && e.now-c.sentAt < uint64(e.cfg.ResendTicks) {
		// A request is out: raise the target and let its answer ask for
		// the rest. Asking again at every new checkpoint (four times a
		// second under load) requested the same blocks over and over, and
		// past the gateway's bound on expected answers the surplus was
		// refused as unrequested: a restarted replica caught up at about
		// 18 blocks/s while the chain ran at 60 and never got back.
		c.target, c.digest, c.peers = target, digest, peers
		return
	}
	e.catchUp = &catchUp{target: target, digest: digest, peers: peers}
	e.requestCommitted()
}

// fetchGap fetches the committed blocks below seq when this replica has
// no pre-prepare for the number it must execute next: it entered the view
// after those numbers were ordered (a restart, a partition), so until the
// next checkpoint their commit certificates are the only way to them, and
// without them it cannot execute, times out alone and leaves for a view
// no one else enters (seen on real processes: a restarted replica caught
// up only to each stable checkpoint, sixteen numbers behind the head, and
// never got back). Each fetched block proves itself by its certificate;
// the target has no history digest to check (zero).
func (e *Engine) fetchGap(seq uint64) {
	next := e.executed + 1
	if seq <= next || e.catchUp != nil {
		return
	}
	if s := e.log[next]; s != nil && s.hasPP {
		return
	}
	if _, ok := e.fetched[next]; ok {
		return
	}
	peers := make([]types.ValidatorIndex, 0, e.cfg.N)
	for i := range e.cfg.N {
		peers = append(peers, types.ValidatorIndex((int(e.primary(e.view))+i)%e.cfg.N)) // the primary first
	}
	e.startCatchUp(seq-1, types.BlockID{}, peers)
}

// requestCommitted asks the next vouching peer for the blocks after the
// last executed (or buffered) one.
func (e *Engine) requestCommitted() {
	c := e.catchUp
	from := e.executed + 1
	for _, ok := e.fetched[from]; ok; _, ok = e.fetched[from] {
		from++
	}
	if from > c.target {
		return
	}
	count := min(c.target-from+1, types.MaxBlockRequestAncestors)
	to := c.peers[c.next%len(c.peers)]
	c.next++
	c.asked, c.sentAt = from+count-1, e.now
	e.send(to, &types.BlockRequest{Sender: e.cfg.ID, FromHeight: from, Count: uint32(count)})
}

// retryCatchUp asks another peer when an answer is overdue, and ends the
// catch-up once the target executed.
func (e *Engine) retryCatchUp() {
	c := e.catchUp
	switch {
	case c == nil:
	case e.executed >= c.target:
		e.catchUp = nil
	case e.now-c.sentAt >= uint64(e.cfg.ResendTicks) || e.executed >= c.asked:
		e.requestCommitted()
	}
}

// provenBlock is a block fetched by height with the commit certificate
// that proves it committed.
type provenBlock struct {
	block  *types.Block
	commit *types.PBFTCert
}

// onCommitted buffers a block proven committed by the commit certificate
// in its proof (checked at the gateway: see VerifyMessage) and executes
// what it can.
func (e *Engine) onCommitted(r *types.BlockResponse) error {
	seq := r.Block.Height
	if seq <= e.executed || seq > e.executed+e.cfg.MaxFetchAhead {
		return fmt.Errorf("committed block %d outside (%d, %d]: %w", seq, e.executed, e.executed+e.cfg.MaxFetchAhead, ErrOutOfWindow)
	}
	proof, err := DecodeProof(r.Proof)
	if err != nil {
		return err // the gateway decoded it already; only a bypassed gateway gets here
	}
	e.fetched[seq] = provenBlock{block: r.Block, commit: proof.Commit}
	e.execute()
	if c := e.catchUp; c != nil {
		// Answers are flowing: the request is not overdue. Asking again
		// while a loaded replica was still verifying the last answers got
		// every block twice, which slowed it further (a restarted replica
		// caught up at 12 blocks/s while the chain ran at 30).
		c.sentAt = e.now
		if e.executed >= c.asked {
			e.retryCatchUp()
		}
	}
	return nil
}

// blockFetch is a block a new-view named by digest only.
type blockFetch struct {
	seq    uint64
	peer   types.ValidatorIndex
	sentAt uint64
}

// wantBlock asks peer for the block with digest d.
func (e *Engine) wantBlock(d types.BlockID, seq uint64, peer types.ValidatorIndex) {
	if _, ok := e.awaitingBlock[d]; ok {
		return
	}
	e.awaitingBlock[d] = &blockFetch{seq: seq, peer: peer}
	e.requestBlock(d)
}

func (e *Engine) requestBlock(d types.BlockID) {
	f := e.awaitingBlock[d]
	if f.peer == e.cfg.ID {
		f.peer = (f.peer + 1) % types.ValidatorIndex(e.cfg.N)
	}
	f.sentAt = e.now
	e.send(f.peer, &types.BlockRequest{Sender: e.cfg.ID, BlockID: d, Ancestors: 1})
}

// retryBlocks asks the next replica for blocks whose answer is overdue.
func (e *Engine) retryBlocks() {
	for _, d := range slices.SortedFunc(maps.Keys(e.awaitingBlock), compareIDs) {
		f := e.awaitingBlock[d]
		if e.now-f.sentAt >= uint64(e.cfg.ResendTicks) {
			f.peer = (f.peer + 1) % types.ValidatorIndex(e.cfg.N)
			e.requestBlock(d)
		}
	}
}

// onBlockResponse accepts a block only by a digest this replica asked for:
// the ID commits to every field, so the block is the one O named.
func (e *Engine) onBlockResponse(r *types.BlockResponse) error {
	d := r.Block.ID()
	if _, ok := e.awaitingBlock[d]; !ok {
		return fmt.Errorf("block %v: %w", d, ErrUnrequested)
	}
	e.blockArrived(r.Block)
	return nil
}

// blockArrived gives a block to the slots whose pre-prepare named it.
func (e *Engine) blockArrived(b *types.Block) {
	d := b.ID()
	delete(e.awaitingBlock, d)
	if s := e.log[b.Height]; s != nil && s.hasPP && s.digest == d && s.block == nil {
		s.block = b
		e.storeBlock(b)
		e.execute()
	}
}

func compareIDs(a, b types.BlockID) int { return bytes.Compare(a[:], b[:]) }
