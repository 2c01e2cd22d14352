package loadgen

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bftkit/bftkit/api"
)

const (
	// unpacedBatch is the batch size when submitting unpaced (every batch
	// is also bounded by the node's POST /txs limits, api.MaxBatchTxs and
	// api.MaxBatchBytes). It is large enough that HTTP overhead is small
	// next to admission, small enough that a 503 wastes little work.
	unpacedBatch = 1000
	// mempoolFull is how 503 rejections are counted: the node's message
	// embeds the mempool's size, which would make every one a new kind.
	mempoolFull = "mempool full (HTTP 503)"
)

// Back-off after a failed POST /txs (transport error, timeout, or an
// unexpected status): BatchInterval, doubling with each consecutive
// failure up to maxBackoff, and reset by a success. A validator that is
// down or hung then costs a request every few seconds, not every tick.
const maxBackoff = 5 * time.Second

// endpoint is one validator to submit to, with its own in-flight slots:
// a validator that stops answering holds its own slots, never the
// others'. After a 503 it is skipped for one batch interval: a full
// mempool drains by committing blocks, and more requests would only add
// work to the node that is behind. After a failure it is skipped
// exponentially longer (see maxBackoff).
type endpoint struct {
	url   string
	slots int64
	// inFlight is incremented only by the scheduling goroutine and
	// decremented by the requests, so a check-then-increment there is
	// safe.
	inFlight atomic.Int64

	mu           sync.Mutex
	backoffUntil time.Time
	failures     int // consecutive, for the exponential back-off
}

// ready reports whether a batch may go to e now.
func (e *endpoint) ready(now time.Time) bool {
	if e.inFlight.Load() >= e.slots {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return !now.Before(e.backoffUntil)
}

// failureLevel is the failure count a new request starts at.
func (e *endpoint) failureLevel() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.failures
}

// failed backs e off after a request that started at failure level
// level failed. Requests in flight together fail together: they raise
// the level by one, not by one each.
func (e *endpoint) failed(now time.Time, interval time.Duration, level int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failures = max(e.failures, level+1)
	d := interval
	for i := 1; i < e.failures && d < maxBackoff; i++ {
		d *= 2
	}
	e.backoffUntil = later(e.backoffUntil, now.Add(min(d, maxBackoff)))
}

// full backs e off for one interval after a 503: the node is alive and
// will have room after its next block.
func (e *endpoint) full(now time.Time, interval time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.backoffUntil = later(e.backoffUntil, now.Add(interval))
}

func (e *endpoint) succeeded() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failures = 0
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// slotsPerEndpoint splits MaxInFlight evenly (the first endpoints get
// the remainder), at least one each: an endpoint without a slot would
// never be used.
func slotsPerEndpoint(maxInFlight, endpoints int) []int64 {
	slots := make([]int64, endpoints)
	for i := range slots {
		n := maxInFlight / endpoints
		if i < maxInFlight%endpoints {
			n++
		}
		slots[i] = int64(max(n, 1))
	}
	return slots
}

type submitter struct {
	cfg      Config
	client   *client
	ledger   *ledger
	codec    txCodec
	eps      []*endpoint
	next     int           // round-robin position; only the scheduling goroutine uses it
	freed    chan struct{} // a slot was released (buffered, 1)
	inFlight sync.WaitGroup
	maxBatch int
}

func newSubmitter(cfg Config, c *client, l *ledger, codec txCodec) *submitter {
	s := &submitter{
		cfg: cfg, client: c, ledger: l, codec: codec,
		freed:    make(chan struct{}, 1),
		maxBatch: min(api.MaxBatchTxs, (api.MaxBatchBytes-1)/(cfg.TxSize+3)), // 3: uvarint length of ≤ 64 KiB
	}
	slots := slotsPerEndpoint(cfg.MaxInFlight, len(cfg.Endpoints))
	for i, u := range cfg.Endpoints {
		s.eps = append(s.eps, &endpoint{url: u, slots: slots[i]})
	}
	return s
}

// run submits until deadline, until stop is closed, or until loopCtx is
// done. Requests use postCtx, so those in flight when the window closes
// still get their answers; wait() waits for them.
func (s *submitter) run(loopCtx, postCtx context.Context, start, deadline time.Time, stop <-chan struct{}) {
	loopCtx, cancel := context.WithDeadline(loopCtx, deadline)
	defer cancel()
	if stop != nil {
		// A closed Stop closes the window just as the deadline does.
		go func() {
			select {
			case <-stop:
				cancel()
			case <-loopCtx.Done():
			}
		}()
	}
	if s.cfg.Rate > 0 {
		s.paced(loopCtx, postCtx, start, deadline)
	} else {
		s.unpaced(loopCtx, postCtx)
	}
}

func (s *submitter) wait() { s.inFlight.Wait() }

// paced follows a token schedule: by time t it owes Rate·t transactions
// and each tick sends what is owed, so a tick that comes a little late
// catches up and timer jitter alone does not bias the rate. The rate is
// still not guaranteed: debt is capped at two intervals' worth, so after
// a stall the load resumes at the rate with at most one interval's extra
// burst instead of flooding the nodes with everything missed, and a tick
// that no endpoint can take (all backing off or with every slot busy) is
// dropped. Both count in Skipped, so a shortfall shows in the result
// rather than only as a lower SubmitRate.
func (s *submitter) paced(loopCtx, postCtx context.Context, start, deadline time.Time) {
	perTick := s.cfg.Rate * s.cfg.BatchInterval.Seconds()
	maxOwed := max(2*perTick, 1)
	tick := time.NewTicker(s.cfg.BatchInterval)
	defer tick.Stop()
	var issued float64
	for {
		var now time.Time
		last := false
		select {
		case <-postCtx.Done():
			return
		case now = <-tick.C:
		case <-loopCtx.Done():
			if postCtx.Err() != nil {
				return
			}
			// The window closed between ticks, at the deadline or on
			// Stop: send what it still owes.
			now, last = time.Now(), true
		}
		if !now.Before(deadline) {
			now, last = deadline, true
		}
		owed := s.cfg.Rate*now.Sub(start).Seconds() - issued
		if owed > maxOwed {
			forgiven := math.Floor(owed - maxOwed) // whole transactions; the fraction stays owed
			if forgiven > 0 {
				issued += forgiven
				owed -= forgiven
				s.ledger.skip(int(forgiven))
			}
		}
		if n := int(owed); n > 0 {
			issued += float64(n) // sent or skipped: either way not owed again
			if skipped := s.send(postCtx, n); skipped > 0 {
				s.ledger.skip(skipped)
			}
		}
		if last {
			return
		}
	}
}

// send splits n transactions into batches within the node's limits and
// posts them to the endpoints in turn. When no endpoint can take a batch
// the rest of the tick is skipped: waiting would only delay every later
// tick behind the slowest node. It returns how many were skipped.
func (s *submitter) send(ctx context.Context, n int) (skipped int) {
	for n > 0 {
		ep := s.pick(time.Now())
		if ep == nil {
			return n
		}
		k := min(n, s.maxBatch)
		s.post(ctx, ep, k)
		n -= k
	}
	return 0
}

// unpaced keeps every in-flight slot busy with a batch until the window
// closes: "as fast as the nodes accept", with 503s as the brake.
func (s *submitter) unpaced(loopCtx, postCtx context.Context) {
	k := min(unpacedBatch, s.maxBatch)
	retry := time.NewTimer(0)
	defer retry.Stop()
	for loopCtx.Err() == nil {
		ep := s.pick(time.Now())
		if ep == nil {
			// Wait for a slot to free or, if every endpoint is backing
			// off, for the back-off to pass.
			retry.Reset(s.cfg.BatchInterval / 2)
			select {
			case <-s.freed:
			case <-retry.C:
			case <-loopCtx.Done():
				return
			}
			continue
		}
		s.post(postCtx, ep, k)
	}
}

// pick returns the next endpoint that can take a batch now, round-robin,
// or nil.
func (s *submitter) pick(now time.Time) *endpoint {
	for range s.eps {
		ep := s.eps[s.next]
		s.next = (s.next + 1) % len(s.eps)
		if ep.ready(now) {
			return ep
		}
	}
	return nil
}

// post reserves k sequence numbers (their submit time is now), takes
// one of ep's slots and sends them as one batch in the background,
// releasing the slot at the end.
func (s *submitter) post(ctx context.Context, ep *endpoint, k int) {
	first := s.ledger.reserve(k)
	level := ep.failureLevel()
	ep.inFlight.Add(1)
	s.inFlight.Go(func() {
		defer s.release(ep)
		body := api.EncodeTxBatch(s.codec.batch(first, k))
		code, res, msg, err := s.client.postTxs(ctx, ep.url, body)
		switch {
		case err != nil && ctx.Err() != nil:
			// Interrupted: the outcome is unknown, so neither accepted
			// nor rejected.
		case err != nil:
			ep.failed(time.Now(), s.cfg.BatchInterval, level)
			s.ledger.lose(first, k, fmt.Sprintf("POST %s/txs: %v", ep.url, err))
		case code == http.StatusOK:
			ep.succeeded()
			s.ledger.settle(first, k, res.Rejected, k, "")
		case code == http.StatusServiceUnavailable:
			ep.full(time.Now(), s.cfg.BatchInterval)
			// The last rejection is the full mempool; it and everything
			// after it were not admitted.
			cut, rejected := res.Accepted, res.Rejected
			if n := len(rejected); n > 0 {
				cut, rejected = rejected[n-1].Index, rejected[:n-1]
			}
			s.ledger.settle(first, k, rejected, cut, mempoolFull)
		default:
			ep.failed(time.Now(), s.cfg.BatchInterval, level)
			s.ledger.settle(first, k, nil, 0, fmt.Sprintf("HTTP %d: %s", code, msg))
		}
	})
}

// release frees ep's slot and wakes an unpaced loop waiting for one.
func (s *submitter) release(ep *endpoint) {
	ep.inFlight.Add(-1)
	select {
	case s.freed <- struct{}{}:
	default:
	}
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
