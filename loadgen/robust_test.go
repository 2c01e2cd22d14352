package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bftkit/bftkit/api"
	"github.com/stretchr/testify/require"
)

// A long run must not keep a record per transaction: once committed they
// are forgotten, so what the ledger holds stays near what is in flight.
func TestRunLedgerStaysBounded(t *testing.T) {
	f := newFakeNode(t, &fakeNode{blockEvery: 5 * time.Millisecond})
	cfg := testConfig(f.server(t))
	cfg.Rate, cfg.Duration = 20000, time.Second
	res, l, err := run(context.Background(), cfg)
	require.NoError(t, err)
	t.Log(res)
	require.Greater(t, res.Submitted, 15000, res.String())
	require.Equal(t, res.Submitted, res.Committed, res.String())
	_, peak := l.retained()
	t.Logf("peak records %d for %d transactions", peak, res.Submitted)
	require.Less(t, peak, 5000, "the ledger grows with the run")
}

// One transaction that never commits must not pin everything after it:
// past the grace it moves to the straggler map and the window moves on.
func TestLedgerForgetsSettledAndKeepsStragglers(t *testing.T) {
	l := newLedger(time.Now())
	l.grace = time.Millisecond
	straggler := l.reserve(1)
	l.settle(straggler, 1, nil, 1, "")
	lost := l.reserve(1)
	l.lose(lost, 1, "no answer")
	refused := l.reserve(1)
	l.settle(refused, 1, []api.TxBatchRejection{{Index: 0, Error: "bad tx"}}, 1, "")
	time.Sleep(2 * time.Millisecond)

	const batches, per = 2000, 100
	for range batches {
		first := l.reserve(per)
		l.settle(first, per, nil, per, "")
		seqs := make([]uint64, per)
		for i := range seqs {
			seqs[i] = first + uint64(i)
		}
		l.commit(seqs, time.Now())
	}
	now, peak := l.retained()
	require.LessOrEqual(t, peak, 2*minCompact+2*per, "window not trimmed")
	require.LessOrEqual(t, now, peak)
	require.Len(t, l.old, 1, "only the straggler is kept out of the window")
	res := l.result(time.Now())
	require.Equal(t, batches*per+3, res.Submitted)
	require.Equal(t, 1, res.Uncommitted)
	require.Equal(t, 2, res.Rejected)
	require.Equal(t, map[string]int{"no answer": 1, "bad tx": 1}, res.Errors)

	// The straggler still counts when it finally commits; the lost one
	// is past its grace and no longer recognised.
	l.commit([]uint64{straggler, lost}, time.Now())
	res = l.result(time.Now())
	require.Zero(t, res.Uncommitted)
	require.Equal(t, batches*per+1, res.Committed)
	require.Equal(t, 2, res.Rejected)
	require.Empty(t, l.old)
}

// A rejected transaction that commits after all is accepted, and its
// rejection leaves the error counts.
func TestLedgerCommitAfterRejectionUncountsTheError(t *testing.T) {
	l := newLedger(time.Now())
	first := l.reserve(3)
	l.lose(first, 2, "POST x/txs: EOF")
	l.settle(first+2, 1, []api.TxBatchRejection{{Index: 0, Error: "odd"}}, 1, "")
	l.commit([]uint64{first}, time.Now())
	res := l.result(time.Now())
	require.Equal(t, 1, res.Accepted)
	require.Equal(t, 2, res.Rejected)
	require.Equal(t, map[string]int{"POST x/txs: EOF": 1, "odd": 1}, res.Errors)
	l.commit([]uint64{first + 1, first + 2}, time.Now())
	res = l.result(time.Now())
	require.Equal(t, 3, res.Accepted)
	require.Zero(t, res.Rejected)
	require.Empty(t, res.Errors)
	require.Equal(t, 3, res.Committed)
	require.Zero(t, res.Uncommitted)
}

func TestTxCodecIsStrict(t *testing.T) {
	c := newTxCodec("run1", 12)
	seq, ok := c.seq([]byte("run1-0=vvvvv"))
	require.True(t, ok)
	require.Zero(t, seq)
	for _, tx := range []string{
		"run1-0z=vvvv", // leading zero
		"run1-Z=vvvvv", // uppercase
		"run1-z=vvvvw", // value not all 'v'
		"run1-=vvvvvv", // no sequence number
		"run1-z-vvvvv", // no '='
		"run1-+z=vvvv", // sign
	} {
		require.Len(t, tx, 12)
		_, ok := c.seq([]byte(tx))
		require.False(t, ok, tx)
	}
}

// A validator that accepts connections but never answers holds only its
// own slots: the healthy one keeps getting the load. With a short POST
// timeout the hung one is also backed off, and its timeouts are errors.
func TestRunSurvivesAHungEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
	}{{"slots", postTimeout}, {"timeouts", 400 * time.Millisecond}} {
		t.Run(tc.name, func(t *testing.T) {
			saved := postTimeout
			postTimeout = tc.timeout
			t.Cleanup(func() { postTimeout = saved })
			f := newFakeNode(t, &fakeNode{})
			var hits atomic.Int32
			release := make(chan struct{})
			hung := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}))
			t.Cleanup(hung.Close)
			t.Cleanup(func() { close(release) }) // before Close, which waits for handlers

			cfg := testConfig(f.server(t), hung)
			cfg.Duration, cfg.DrainTimeout = 800*time.Millisecond, 200*time.Millisecond
			start := time.Now()
			res, err := Run(context.Background(), cfg)
			require.NoError(t, err)
			t.Log(res)
			offered := cfg.Rate * cfg.Duration.Seconds()
			require.GreaterOrEqual(t, float64(f.admittedCount()), 0.8*offered, res.String())
			require.Less(t, time.Since(start), cfg.Duration+cfg.DrainTimeout+time.Second)
			t.Logf("hung endpoint got %d requests", hits.Load())
			if tc.timeout < time.Second {
				require.Positive(t, res.Errors["POST "+hung.URL+"/txs: no answer within 400ms"], res.Errors)
				require.LessOrEqual(t, hits.Load(), int32(16), "no back-off after timeouts")
			} else {
				require.LessOrEqual(t, hits.Load(), int32(defaultInFlightPerEndpoint), "more requests than slots")
			}
		})
	}
}

// An endpoint that fails fast (connection closed) is backed off
// exponentially instead of being retried every tick.
func TestRunBacksOffAFailingEndpoint(t *testing.T) {
	f := newFakeNode(t, &fakeNode{})
	var hits atomic.Int32
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}))
	t.Cleanup(failing.Close)
	cfg := testConfig(f.server(t), failing)
	cfg.Duration = time.Second
	res, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	t.Log(res)
	// 10, 20, 40 … 640ms: about 8 attempts in a second, not 50.
	require.LessOrEqual(t, hits.Load(), int32(12))
	require.GreaterOrEqual(t, float64(f.admittedCount()), 0.9*cfg.Rate*cfg.Duration.Seconds(), res.String())
	require.Equal(t, res.Submitted, res.Accepted+res.Rejected)
	require.Equal(t, res.Accepted, res.Committed)
	var failed int
	for msg, n := range res.Errors {
		require.True(t, strings.HasPrefix(msg, "POST "+failing.URL+"/txs: "), msg)
		failed += n
	}
	require.Equal(t, res.Rejected, failed)
}

// Ticks no endpoint can take are skipped and reported: every transaction
// the schedule owed is either submitted or skipped.
func TestRunReportsSkipped(t *testing.T) {
	f := newFakeNode(t, &fakeNode{postDelay: 30 * time.Millisecond})
	cfg := testConfig(f.server(t))
	cfg.Duration, cfg.MaxInFlight = 500*time.Millisecond, 1
	var last atomic.Pointer[Snapshot]
	cfg.Progress = func(s Snapshot) { last.Store(&s) }
	res, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	t.Log(res)
	require.Positive(t, res.Skipped, res.String())
	require.InDelta(t, cfg.Rate*cfg.Duration.Seconds(), res.Submitted+res.Skipped, 1, res.String())
	require.Contains(t, res.String(), ", "+strconv.Itoa(res.Skipped)+" skipped:")
	require.Equal(t, res.Submitted, res.Accepted)
	if s := last.Load(); s != nil {
		require.Positive(t, s.Skipped)
	}
	require.NotContains(t, Result{Submitted: 1}.String(), "skipped")
}

// Closing Stop ends submission like the end of Duration: the run drains
// and returns without error, its rate over the shortened window.
func TestRunStop(t *testing.T) {
	f := newFakeNode(t, &fakeNode{commitDelay: 50 * time.Millisecond})
	cfg := testConfig(f.server(t))
	cfg.Duration = 10 * time.Second
	stop := make(chan struct{})
	cfg.Stop = stop
	time.AfterFunc(300*time.Millisecond, func() { close(stop) })
	start := time.Now()
	res, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	t.Log(res)
	require.Less(t, time.Since(start), 1500*time.Millisecond)
	require.InDelta(t, 300, res.Submitted, 60, res.String())
	require.InEpsilon(t, cfg.Rate, res.SubmitRate, 0.2, res.String())
	require.Equal(t, res.Submitted, res.Accepted)
	require.Equal(t, res.Accepted, res.Committed, "the drain still waits for commits")
	require.Zero(t, res.Skipped)
}

// SubmitRate divides by the window actually used: past the deadline if
// the last submission came after it, and short of it if stopped.
func TestSubmitRateWindow(t *testing.T) {
	now := time.Now()
	late := newLedger(now.Add(-2 * time.Second))
	late.reserve(100) // 2s after start, 1s past the deadline
	late.endSubmission(time.Now(), late.start.Add(time.Second))
	require.InEpsilon(t, 50, late.result(time.Now()).SubmitRate, 0.05)

	early := newLedger(now.Add(-time.Second))
	early.reserve(100)
	early.endSubmission(time.Now(), early.start.Add(10*time.Second))
	require.InEpsilon(t, 100, early.result(time.Now()).SubmitRate, 0.05)
}
