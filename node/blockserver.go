package node

import (
	"errors"
	"time"

	"github.com/bftkit/bftkit/store"
	"github.com/bftkit/bftkit/types"
)

// blockServer answers peers' block requests from the store, which holds
// every block the engine ever stored (committed or pending), so a peer
// that fell behind the engine's in-memory window can still catch up. It
// runs on its own goroutine (disk reads stay off the Ready loop) and
// limits each peer to a rate of blocks, so a peer cannot turn requests
// into unbounded disk and network work.
type blockServer struct {
	n        *Node
	requests chan *types.BlockRequest
	buckets  []tokenBucket // by validator index
}

func newBlockServer(n *Node) *blockServer {
	return &blockServer{
		n:        n,
		requests: make(chan *types.BlockRequest, 256),
		buckets:  make([]tokenBucket, n.cfg.Set.N()),
	}
}

// request queues r; a full queue drops it (the requester retries).
func (s *blockServer) request(r *types.BlockRequest) {
	select {
	case s.requests <- r:
	default:
	}
}

func (s *blockServer) run() {
	rate := float64(s.n.cfg.BlockRequestsPerSecond)
	for {
		select {
		case <-s.n.ctx.Done():
			return
		case r := <-s.requests:
			bucket := &s.buckets[r.Sender]
			s.serve(r, func() bool { return bucket.take(time.Now(), rate) })
		}
	}
}

// serve sends the requested block and up to Ancestors−1 of its ancestors,
// newest first, while the requester has budget.
func (s *blockServer) serve(r *types.BlockRequest, allow func() bool) {
	id := r.BlockID
	for range r.Ancestors {
		b, err := s.n.store.BlockByID(id)
		if errors.Is(err, store.ErrNotFound) {
			return
		}
		if err != nil {
			s.n.log.Warn("reading a block for a peer", "block", id, "err", err)
			return
		}
		if !allow() {
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

// tokenBucket allows rate events per second with bursts of one second's
// worth.
type tokenBucket struct {
	tokens float64
	last   time.Time
}

func (b *tokenBucket) take(now time.Time, rate float64) bool {
	if b.last.IsZero() {
		b.tokens = rate
	} else {
		b.tokens = min(rate, b.tokens+now.Sub(b.last).Seconds()*rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
