package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bftkit/bftkit/node"
)

// The node's POST /txs limits (see node.EncodeTxBatch), and the batch size
// when submitting unpaced.
const (
	nodeMaxBatchTxs   = 10_000
	nodeMaxBatchBytes = 4 << 20
	// unpacedBatch is large enough that HTTP overhead is small next to
	// admission, small enough that a 503 wastes little work.
	unpacedBatch = 1000
	// mempoolFull is how 503 rejections are counted: the node's message
	// embeds the mempool's size, which would make every one a new kind.
	mempoolFull = "mempool full (HTTP 503)"
)

// endpoint is one validator to submit to. After a 503 it is skipped for
// one batch interval: a full mempool drains by committing blocks, and more
// requests would only add work to the node that is behind.
type endpoint struct {
	url          string
	backoffUntil atomic.Int64 // UnixNano
}

func (e *endpoint) backingOff(now time.Time) bool { return now.UnixNano() < e.backoffUntil.Load() }

type submitter struct {
	cfg      Config
	client   *client
	ledger   *ledger
	codec    txCodec
	eps      []*endpoint
	next     int // round-robin position; only the scheduling goroutine uses it
	slots    chan struct{}
	inFlight sync.WaitGroup
	maxBatch int
}

func newSubmitter(cfg Config, c *client, l *ledger, codec txCodec) *submitter {
	s := &submitter{
		cfg: cfg, client: c, ledger: l, codec: codec,
		slots:    make(chan struct{}, cfg.MaxInFlight),
		maxBatch: min(nodeMaxBatchTxs, (nodeMaxBatchBytes-1)/(cfg.TxSize+3)), // 3: uvarint length of ≤ 64 KiB
	}
	for _, u := range cfg.Endpoints {
		s.eps = append(s.eps, &endpoint{url: u})
	}
	return s
}

// run submits until deadline or until loopCtx is done. Requests use
// postCtx, so those in flight at the deadline still get their answers;
// wait() waits for them.
func (s *submitter) run(loopCtx, postCtx context.Context, start, deadline time.Time) {
	loopCtx, cancel := context.WithDeadline(loopCtx, deadline)
	defer cancel()
	if s.cfg.Rate > 0 {
		s.paced(loopCtx, postCtx, start, deadline)
	} else {
		s.unpaced(loopCtx, postCtx)
	}
}

func (s *submitter) wait() { s.inFlight.Wait() }

// paced follows a token schedule: by time t it owes Rate·t transactions
// and each tick sends what is owed, so a late tick catches up and timer
// jitter does not bias the rate. Debt is capped at two intervals' worth:
// after a stall (all slots busy, endpoints backing off) the load resumes
// at the rate with at most one interval's extra burst, instead of
// flooding the nodes with everything missed.
func (s *submitter) paced(loopCtx, postCtx context.Context, start, deadline time.Time) {
	perTick := s.cfg.Rate * s.cfg.BatchInterval.Seconds()
	maxOwed := max(2*perTick, 1)
	tick := time.NewTicker(s.cfg.BatchInterval)
	defer tick.Stop()
	var issued float64
	for {
		var now time.Time
		select {
		case <-postCtx.Done():
			return
		case now = <-tick.C:
		case <-loopCtx.Done():
			if postCtx.Err() != nil {
				return
			}
			now = deadline // the window closed between ticks: send what it still owes
		}
		last := !now.Before(deadline)
		if last {
			now = deadline
		}
		owed := s.cfg.Rate*now.Sub(start).Seconds() - issued
		if owed > maxOwed {
			issued += owed - maxOwed // forgiven, never sent
			owed = maxOwed
		}
		if n := int(owed); n > 0 {
			issued += float64(n) // sent or skipped: either way not owed again
			s.send(postCtx, n)
		}
		if last {
			return
		}
	}
}

// send splits n transactions into batches within the node's limits and
// posts them to the endpoints in turn. When every endpoint is backing off
// the rest of the tick is skipped.
func (s *submitter) send(ctx context.Context, n int) {
	for n > 0 {
		// The slot first, then the endpoint: a request in flight may
		// still answer 503 and put its endpoint in back-off.
		if !s.acquire(ctx, nil) {
			return
		}
		ep := s.pick(time.Now())
		if ep == nil {
			s.release()
			return
		}
		k := min(n, s.maxBatch)
		s.post(ctx, ep, k)
		n -= k
	}
}

// unpaced keeps every in-flight slot busy with a batch until the window
// closes: "as fast as the nodes accept", with 503s as the brake.
func (s *submitter) unpaced(loopCtx, postCtx context.Context) {
	k := min(unpacedBatch, s.maxBatch)
	for loopCtx.Err() == nil {
		if !s.acquire(postCtx, loopCtx.Done()) {
			return
		}
		ep := s.pick(time.Now())
		if ep == nil {
			s.release()
			sleep(loopCtx, s.cfg.BatchInterval/2)
			continue
		}
		s.post(postCtx, ep, k)
	}
}

// pick returns the next endpoint not backing off, round-robin, or nil.
func (s *submitter) pick(now time.Time) *endpoint {
	for range s.eps {
		ep := s.eps[s.next]
		s.next = (s.next + 1) % len(s.eps)
		if !ep.backingOff(now) {
			return ep
		}
	}
	return nil
}

// acquire takes an in-flight slot, waiting for one; false if ctx or stop
// ends first.
func (s *submitter) acquire(ctx context.Context, stop <-chan struct{}) bool {
	select {
	case s.slots <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	case <-stop:
		return false
	}
}

func (s *submitter) release() { <-s.slots }

// post reserves k sequence numbers (their submit time is now) and sends
// them as one batch in the background, releasing the slot at the end.
func (s *submitter) post(ctx context.Context, ep *endpoint, k int) {
	first := s.ledger.reserve(k)
	s.inFlight.Go(func() {
		defer s.release()
		body := node.EncodeTxBatch(s.codec.batch(first, k))
		code, res, msg, err := s.client.postTxs(ctx, ep.url, body)
		switch {
		case err != nil && ctx.Err() != nil:
			// Interrupted: the outcome is unknown, so neither accepted
			// nor rejected.
		case err != nil:
			s.ledger.settle(first, k, nil, 0, fmt.Sprintf("POST %s/txs: %v", ep.url, err))
		case code == http.StatusOK:
			s.ledger.settle(first, k, res.Rejected, k, "")
		case code == http.StatusServiceUnavailable:
			ep.backoffUntil.Store(time.Now().Add(s.cfg.BatchInterval).UnixNano())
			// The last rejection is the full mempool; it and everything
			// after it were not admitted.
			cut, rejected := res.Accepted, res.Rejected
			if n := len(rejected); n > 0 {
				cut, rejected = rejected[n-1].Index, rejected[:n-1]
			}
			s.ledger.settle(first, k, rejected, cut, mempoolFull)
		default:
			s.ledger.settle(first, k, nil, 0, fmt.Sprintf("HTTP %d: %s", code, msg))
		}
	})
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
