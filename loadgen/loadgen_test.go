package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestValidateNamesTheField(t *testing.T) {
	ok := Config{Endpoints: []string{"http://127.0.0.1:26657"}, Rate: 10, Duration: time.Second}
	require.NoError(t, ok.Validate())
	for field, mutate := range map[string]func(*Config){
		"endpoints":      func(c *Config) { c.Endpoints = nil },
		"rate":           func(c *Config) { c.Rate = -1 },
		"duration":       func(c *Config) { c.Duration = 0 },
		"tx-size":        func(c *Config) { c.TxSize = 8 },
		"batch-interval": func(c *Config) { c.BatchInterval = time.Microsecond },
		"max-in-flight":  func(c *Config) { c.MaxInFlight = -1 },
		"key-prefix":     func(c *Config) { c.KeyPrefix = "a=b" },
		"drain-timeout":  func(c *Config) { c.DrainTimeout = -time.Second },
	} {
		c := ok
		mutate(&c)
		err := c.Validate()
		var fe *FieldError
		require.ErrorAs(t, err, &fe, field)
		require.Equal(t, field, fe.Field)
		require.True(t, strings.HasPrefix(err.Error(), field+": "), err.Error())
	}
	bad := ok
	bad.Endpoints = []string{"127.0.0.1:26657"}
	require.ErrorContains(t, bad.Validate(), "endpoints: ")
	long := ok
	long.TxSize, long.KeyPrefix = 16, "seven77"
	require.ErrorContains(t, long.Validate(), "key-prefix: ")
}

func TestTxCodec(t *testing.T) {
	c := newTxCodec("run1", 20)
	txs := c.batch(35, 3)
	require.Equal(t, "run1-z=vvvvvvvvvvvvv", string(txs[0]))
	for i, tx := range txs {
		require.Len(t, tx, 20)
		seq, ok := c.seq(tx)
		require.True(t, ok)
		require.EqualValues(t, 35+i, seq)
	}
	_, ok := newTxCodec("run2", 20).seq(txs[0])
	require.False(t, ok, "another run's transaction")
	_, ok = c.seq([]byte("run1-1=v"))
	require.False(t, ok, "wrong size")
}

func TestHistogramPercentiles(t *testing.T) {
	var h histogram
	for i := 1000; i >= 1; i-- {
		h.record(time.Duration(i) * time.Millisecond)
	}
	p := h.percentiles()
	near := func(want, got time.Duration) {
		require.InEpsilon(t, float64(want), float64(got), 0.006, "want %s, got %s", want, got)
	}
	near(500*time.Millisecond, p.P50)
	near(900*time.Millisecond, p.P90)
	near(990*time.Millisecond, p.P99)
	require.Equal(t, time.Second, p.Max)
	require.Equal(t, time.Duration(0), (&histogram{}).quantile(0.5))
}

// testConfig is a short run against the given servers.
func testConfig(servers ...*httptest.Server) Config {
	cfg := Config{Rate: 1000, Duration: 300 * time.Millisecond, DrainTimeout: 2 * time.Second}
	for _, s := range servers {
		cfg.Endpoints = append(cfg.Endpoints, s.URL)
	}
	return cfg
}

func TestRunPacesTheRateAcrossEndpoints(t *testing.T) {
	f := newFakeNode(t, &fakeNode{})
	a, b := f.server(t), f.server(t)
	cfg := testConfig(a, b)
	cfg.Rate, cfg.Duration = 2000, time.Second
	var reports atomic.Int32
	cfg.Progress = func(s Snapshot) {
		reports.Add(1)
		require.Positive(t, s.Submitted)
	}
	res, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	t.Log(res)
	require.InEpsilon(t, 2000, res.Submitted, 0.15, res.String())
	require.InEpsilon(t, 2000, res.SubmitRate, 0.15, res.String())
	require.Equal(t, res.Submitted, res.Accepted)
	require.Equal(t, res.Accepted, res.Committed)
	require.Zero(t, res.Uncommitted)
	require.Empty(t, res.Errors)
	require.Positive(t, reports.Load())
	posts, _, _ := f.stats()
	require.Len(t, posts, 2, "both endpoints get batches")
	for _, n := range posts {
		require.Greater(t, n, 20)
	}
}

func TestRunMeasuresCommitLatency(t *testing.T) {
	f := newFakeNode(t, &fakeNode{commitDelay: 100 * time.Millisecond, blockEvery: 5 * time.Millisecond})
	cfg := testConfig(f.server(t))
	cfg.Rate, cfg.Duration = 500, 500*time.Millisecond
	res, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	t.Log(res)
	require.Equal(t, res.Accepted, res.Committed)
	// 100ms delay, plus up to a block interval and a poll interval.
	lat := res.Latency
	require.GreaterOrEqual(t, lat.P50, 100*time.Millisecond, res.String())
	require.Less(t, lat.P50, 140*time.Millisecond, res.String())
	require.LessOrEqual(t, lat.P50, lat.P90)
	require.LessOrEqual(t, lat.P90, lat.P99)
	require.LessOrEqual(t, lat.P99, lat.Max)
	require.Less(t, lat.Max, 400*time.Millisecond, res.String())
	require.Greater(t, res.CommitRate, 0.0)
}

// A full mempool (503) is counted as rejections, and the endpoint is left
// alone for a batch interval.
func TestRunBacksOffWhenMempoolFull(t *testing.T) {
	f := newFakeNode(t, &fakeNode{capacity: 40, commitDelay: 30 * time.Millisecond})
	cfg := testConfig(f.server(t))
	cfg.Rate, cfg.Duration, cfg.MaxInFlight = 5000, 500*time.Millisecond, 1
	res, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	t.Log(res)
	require.Positive(t, res.Rejected, res.String())
	require.Equal(t, res.Rejected, res.Errors[mempoolFull], res.Errors)
	require.Equal(t, res.Submitted, res.Accepted+res.Rejected)
	require.Equal(t, res.Accepted, res.Committed)
	require.Zero(t, res.Uncommitted)
	_, _, gap := f.stats()
	require.GreaterOrEqual(t, gap, DefaultBatchInterval*9/10, "next POST too soon after a 503")
	require.Contains(t, res.String(), mempoolFull)
}

func TestRunReportsUncommitted(t *testing.T) {
	f := newFakeNode(t, &fakeNode{dropEvery: 10})
	cfg := testConfig(f.server(t))
	cfg.DrainTimeout = 300 * time.Millisecond
	start := time.Now()
	res, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	t.Log(res)
	_, dropped, _ := f.stats()
	require.Positive(t, dropped)
	require.Equal(t, dropped, res.Uncommitted, res.String())
	require.Equal(t, res.Accepted-dropped, res.Committed)
	require.GreaterOrEqual(t, time.Since(start), cfg.Duration+cfg.DrainTimeout)
	require.Less(t, time.Since(start), cfg.Duration+cfg.DrainTimeout+time.Second)
}

func TestRunUnpaced(t *testing.T) {
	f := newFakeNode(t, &fakeNode{capacity: 5000})
	cfg := testConfig(f.server(t))
	cfg.Rate, cfg.MaxInFlight = 0, 2
	res, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	t.Log(res)
	require.Greater(t, res.Accepted, 1000, res.String())
	require.Equal(t, res.Accepted, res.Committed)
	require.Equal(t, res.Submitted, res.Accepted+res.Rejected)
}

func TestRunStopsOnCancel(t *testing.T) {
	f := newFakeNode(t, &fakeNode{})
	cfg := testConfig(f.server(t))
	cfg.Duration = 10 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, cfg)
	require.True(t, errors.Is(err, context.DeadlineExceeded), err)
	require.Less(t, time.Since(start), time.Second)
	require.Positive(t, res.Submitted)
	require.InDelta(t, 200, res.Submitted, 100)
}

func TestRunFailsWithoutStatus(t *testing.T) {
	srv := httptest.NewServer(nil)
	srv.Close()
	_, err := Run(context.Background(), testConfig(srv))
	require.ErrorContains(t, err, "endpoints: "+srv.URL+"/status")
}

func TestResultJSON(t *testing.T) {
	res := Result{Submitted: 10, Accepted: 9, Rejected: 1, Committed: 9, Elapsed: 1500 * time.Millisecond,
		SubmitRate: 10, CommitRate: 9, Latency: Percentiles{P50: 105 * time.Millisecond, P90: 120 * time.Millisecond,
			P99: 150 * time.Millisecond, Max: 151500 * time.Microsecond}, Errors: map[string]int{"bad": 1}}
	data, err := json.Marshal(res)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	require.Equal(t, 1500.0, m["elapsed_ms"])
	require.Equal(t, map[string]any{"p50": 105.0, "p90": 120.0, "p99": 150.0, "max": 151.5}, m["latency_ms"])
	require.NotContains(t, m, "Latency")
	var back Result
	require.NoError(t, json.Unmarshal(data, &back))
	require.Equal(t, res, back)

	empty, err := json.Marshal(Result{})
	require.NoError(t, err)
	require.Contains(t, string(empty), `"errors":{}`)
	require.Equal(t, 2, strings.Count(res.String(), "\n")+1, res.String())
}
