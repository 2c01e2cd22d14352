package node

import (
	"errors"
	"sync"
	"time"

	"github.com/bftkit/bftkit/pbft"
	"github.com/bftkit/bftkit/store"
	"github.com/bftkit/bftkit/types"
)

// blockServer answers peers' block requests from the store, which holds
// every block the engine ever stored (committed or pending), so a peer
// that fell behind the engine's in-memory window can still catch up. It
// runs on its own goroutine (disk reads stay off the Ready loop), takes
// requests straight from the gateway, and budgets each peer in blocks
// and bytes per second before reading anything: requests are unsigned and
// cheap to send, serving them is not.
type blockServer struct {
	n        *Node
	requests chan *types.BlockRequest
	fetches  chan heightFetch
	mu       sync.Mutex
	blocks   []tokenBucket // by validator index
	bytes    []tokenBucket
}

// blockServeBytesPerSecond bounds the block bytes served to one peer.
const blockServeBytesPerSecond = 64 << 20

func newBlockServer(n *Node) *blockServer {
	return &blockServer{
		n:        n,
		requests: make(chan *types.BlockRequest, 256),
		fetches:  make(chan heightFetch, 64),
		blocks:   make([]tokenBucket, n.cfg.Set.N()),
		bytes:    make([]tokenBucket, n.cfg.Set.N()),
	}
}

// request queues r if its sender has budget left; otherwise, or when the
// queue is full, it is dropped (the requester retries).
func (s *blockServer) request(r *types.BlockRequest) {
	if !s.allow(r.Sender, 1, 0) {
		s.n.metrics.blockRequestsRateLimited.Inc()
		return
	}
	select {
	case s.requests <- r:
	default:
		s.n.metrics.blockRequestsRateLimited.Inc()
	}
}

// heightFetch is a request for committed blocks by height: PBFT's state
// transfer (answered with commit certificates) or a Raft catch-up
// (answered with plain blocks).
type heightFetch struct {
	sender types.ValidatorIndex
	from   uint64
	count  uint32
	pbft   bool
}

// fetch queues a PBFT state-transfer request.
func (s *blockServer) fetch(f *types.PBFTFetch) {
	s.queueFetch(heightFetch{sender: f.Sender, from: f.FromSeq, count: f.Count, pbft: true})
}

// fetchRaft queues a Raft catch-up request.
func (s *blockServer) fetchRaft(f *types.RaftFetch) {
	s.queueFetch(heightFetch{sender: f.Sender, from: f.FromHeight, count: f.Count})
}

// queueFetch runs on the caller's goroutine only to queue; the serving
// goroutine reads the store, as budget allows.
func (s *blockServer) queueFetch(f heightFetch) {
	if !s.allow(f.sender, 1, 0) {
		s.n.metrics.blockRequestsRateLimited.Inc()
		return
	}
	select {
	case s.fetches <- f:
	default:
		s.n.metrics.blockRequestsRateLimited.Inc()
	}
}

// serveFetch sends committed blocks from f.from on, as long as the store
// has them and the requester has budget.
func (s *blockServer) serveFetch(f heightFetch) {
	for i := range uint64(f.count) {
		if i > 0 && !s.allow(f.sender, 1, 0) { // the first was paid for at request
			s.n.metrics.blockRequestsRateLimited.Inc()
			return
		}
		cb, err := s.n.store.CommittedBlock(f.from + i)
		if errors.Is(err, store.ErrNotFound) {
			return
		}
		if err != nil {
			s.n.log.Warn("reading a committed block for a peer", "height", f.from+i, "err", err)
			return
		}
		if !s.allow(f.sender, 0, cb.Block.Size()) {
			s.n.metrics.blockRequestsRateLimited.Inc()
			return
		}
		p, err := fetchAnswer(s.n.cfg.Self, f, cb)
		if err != nil {
			s.n.log.Warn("committed block without a PBFT proof", "height", f.from+i, "err", err)
			return
		}
		s.n.transmit(types.Message{From: s.n.cfg.Self, To: f.sender, Payload: p})
	}
}

// fetchAnswer is what self sends for one fetched block: PBFT's with the
// commit certificate stored as its proof, Raft's as it is.
func fetchAnswer(self types.ValidatorIndex, f heightFetch, cb types.CommittedBlock) (types.Payload, error) {
	if !f.pbft {
		return &types.BlockResponse{Sender: self, Block: cb.Block}, nil
	}
	proof, err := pbft.DecodeProof(cb.Proof)
	if err != nil {
		return nil, err
	}
	return &types.PBFTCommitted{Sender: self, Block: cb.Block, Commit: proof.Commit}, nil
}

// allow takes k blocks and size bytes from peer's budget.
func (s *blockServer) allow(peer types.ValidatorIndex, k, size int) bool {
	if int(peer) >= len(s.blocks) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if !s.blocks[peer].take(now, float64(s.n.cfg.BlockRequestsPerSecond), float64(k)) {
		return false
	}
	return s.bytes[peer].take(now, blockServeBytesPerSecond, float64(size))
}

func (s *blockServer) run() {
	for {
		select {
		case <-s.n.ctx.Done():
			return
		case r := <-s.requests:
			s.serve(r)
		case f := <-s.fetches:
			s.serveFetch(f)
		}
	}
}

// serve sends the requested block and up to Ancestors−1 of its ancestors,
// newest first, while the requester has budget.
func (s *blockServer) serve(r *types.BlockRequest) {
	id := r.BlockID
	for i := range r.Ancestors {
		if i > 0 && !s.allow(r.Sender, 1, 0) { // the first was paid for at request
			s.n.metrics.blockRequestsRateLimited.Inc()
			return
		}
		b, err := s.n.store.BlockByID(id)
		if errors.Is(err, store.ErrNotFound) {
			return
		}
		if err != nil {
			s.n.log.Warn("reading a block for a peer", "block", id, "err", err)
			return
		}
		if !s.allow(r.Sender, 0, b.Size()) {
			s.n.metrics.blockRequestsRateLimited.Inc()
			return
		}
		s.n.transmit(types.Message{From: s.n.cfg.Self, To: r.Sender,
			Payload: &types.BlockResponse{Sender: s.n.cfg.Self, Block: b}})
		if b.Height <= 1 {
			return
		}
		id = b.ParentID
	}
}

// tokenBucket allows rate units per second, with bursts of one second's
// worth.
type tokenBucket struct {
	tokens float64
	last   time.Time
}

func (b *tokenBucket) take(now time.Time, rate, n float64) bool {
	if b.last.IsZero() {
		b.tokens = rate
	} else {
		b.tokens = min(rate, b.tokens+now.Sub(b.last).Seconds()*rate)
	}
	b.last = now
	if b.tokens < n {
		return false
	}
	b.tokens -= n
	return true
}
