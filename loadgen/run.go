package loadgen

import (
	"context"
	"sync"
	"time"
)

// drainPoll is how often the drain checks whether everything committed.
const drainPoll = 5 * time.Millisecond

// Run submits load as cfg describes and measures commit latency. It
// submits for cfg.Duration (or until cfg.Stop is closed), then keeps
// following the chain until every accepted transaction is seen committed
// or cfg.DrainTimeout passes.
//
// It fails before submitting anything, with a *FieldError, if cfg is
// invalid or the first endpoint's /status cannot be read. When ctx is
// cancelled it stops promptly and returns what it measured so far, with
// ctx.Err().
func Run(ctx context.Context, cfg Config) (Result, error) {
	res, _, err := run(ctx, cfg)
	return res, err
}

// run is Run, also returning the ledger for tests to inspect.
func run(ctx context.Context, cfg Config) (Result, *ledger, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, nil, err
	}
	cfg = cfg.withDefaults()
	c := newClient(cfg.MaxInFlight, len(cfg.Endpoints))
	defer c.close()
	// Blocks up to the current height cannot hold transactions not yet
	// submitted, so following starts at the next one.
	st, err := c.status(ctx, cfg.Endpoints[0])
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, nil, ctx.Err()
		}
		return Result{}, nil, fieldErr("endpoints", "%s/status: %v", cfg.Endpoints[0], err)
	}

	start := time.Now()
	l := newLedger(start)
	codec := newTxCodec(cfg.KeyPrefix, cfg.TxSize)
	bgCtx, stopBackground := context.WithCancel(ctx)
	var bg sync.WaitGroup
	defer bg.Wait()
	defer stopBackground()
	f := &follower{client: c, endpoints: cfg.Endpoints, codec: codec, ledger: l}
	bg.Go(func() { f.run(bgCtx, st.Height+1) })
	if cfg.Progress != nil {
		bg.Go(func() { reportProgress(bgCtx, l, cfg.Progress) })
	}

	// Requests still in flight when the drain times out are cancelled, so
	// Run never outlives Duration + DrainTimeout by more than moments.
	postCtx, cancelPosts := context.WithCancel(ctx)
	defer cancelPosts()
	s := newSubmitter(cfg, c, l, codec)
	deadline := start.Add(cfg.Duration)
	s.run(ctx, postCtx, start, deadline, cfg.Stop)
	end := time.Now()
	l.endSubmission(end, deadline)

	answered := make(chan struct{})
	go func() { s.wait(); close(answered) }()
	drain(ctx, l, answered, end.Add(cfg.DrainTimeout))
	cancelPosts()
	<-answered
	stopBackground()
	bg.Wait()
	return l.result(time.Now()), l, ctx.Err()
}

// drain returns once the requests have all been answered (posted is
// closed) and every accepted transaction is committed, or at deadline,
// or when ctx is done.
func drain(ctx context.Context, l *ledger, posted <-chan struct{}, deadline time.Time) {
	timeout := time.NewTimer(time.Until(deadline))
	defer timeout.Stop()
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timeout.C:
			return
		case <-tick.C:
		}
		select {
		case <-posted:
			if l.pendingCount() == 0 {
				return
			}
		default:
		}
	}
}

// reportProgress calls fn about once a second with a snapshot and the
// commit rate since the previous one.
func reportProgress(ctx context.Context, l *ledger, fn func(Snapshot)) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	prevAt, prevCommitted := l.start, 0
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			snap := l.snapshot(now)
			if dt := now.Sub(prevAt).Seconds(); dt > 0 {
				snap.CommitRate = float64(snap.Committed-prevCommitted) / dt
			}
			prevAt, prevCommitted = now, snap.Committed
			fn(snap)
		}
	}
}
