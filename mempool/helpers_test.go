package mempool

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/app"
)

// fakeChecker rejects the txs in rejected (with that code), on check and
// recheck alike, or fails with err. hook, if set, runs first, without the
// lock (to block a CheckTx mid-flight).
type fakeChecker struct {
	mu       sync.Mutex
	rejected map[string]uint32
	err      error
	checks   []string // txs of the CheckTx calls, in order
	rechecks []string // txs of the CheckTx{Recheck} calls, in order
	hook     func(req app.CheckTxRequest)
}

func newFakeChecker() *fakeChecker { return &fakeChecker{rejected: make(map[string]uint32)} }

func (f *fakeChecker) CheckTx(_ context.Context, req app.CheckTxRequest) (app.CheckTxResponse, error) {
	f.mu.Lock()
	hook := f.hook
	f.mu.Unlock()
	if hook != nil {
		hook(req)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.Recheck {
		f.rechecks = append(f.rechecks, string(req.Tx))
	} else {
		f.checks = append(f.checks, string(req.Tx))
	}
	if f.err != nil {
		return app.CheckTxResponse{}, f.err
	}
	if code, ok := f.rejected[string(req.Tx)]; ok {
		return app.CheckTxResponse{Code: code, Log: "no " + string(req.Tx)}, nil
	}
	return app.CheckTxResponse{Code: app.CodeOK}, nil
}

func (f *fakeChecker) reject(tx []byte, code uint32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rejected[string(tx)] = code
}

func (f *fakeChecker) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeChecker) recheckCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.rechecks...)
}

func (f *fakeChecker) checkCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.checks...)
}

// testConfig is small enough to fill in a test.
func testConfig() Config {
	return Config{
		MaxTxs:              100,
		MaxBytes:            10_000,
		MaxTxBytes:          1000,
		MaxGossipBatchTxs:   10,
		MaxGossipBatchBytes: 1000,
		OutcomeCacheSize:    1000,
		MaxRecheckPerUpdate: 1000,
		TTLHeights:          0,
		MaxSubscribers:      100,
	}
}

func newTestMempool(t testing.TB, cfg Config, c Checker) *Mempool {
	t.Helper()
	m, err := New(cfg, c)
	require.NoError(t, err)
	return m
}

// txN is a distinct small tx.
func txN(i int) []byte { return fmt.Appendf(nil, "tx-%04d", i) }

func txsN(from, to int) [][]byte {
	var out [][]byte
	for i := from; i < to; i++ {
		out = append(out, txN(i))
	}
	return out
}

func mustAdd(t testing.TB, m *Mempool, src Source, txs ...[]byte) {
	t.Helper()
	for _, tx := range txs {
		_, err := m.Add(context.Background(), tx, src)
		require.NoError(t, err, "add %q", tx)
	}
}

func mustUpdate(t testing.TB, m *Mempool, height uint64, txs ...[]byte) {
	t.Helper()
	require.NoError(t, m.Update(context.Background(), height, txs))
}

func strs(txs [][]byte) []string {
	var out []string
	for _, tx := range txs {
		out = append(out, string(tx))
	}
	return out
}

// checkInvariants cross-checks the indexes against each other: the pending
// map, the arrival list and the byte count agree; the gossip queue and the
// marks reference only pending entries; the subscriber count is right;
// and the limits hold.
func checkInvariants(t testing.TB, m *Mempool) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	require.Equal(t, len(m.pending), m.order.Len(), "pending map vs arrival list")
	bytes, marked := 0, 0
	for el := m.order.Front(); el != nil; el = el.Next() {
		e := el.Value.(*entry)
		require.Same(t, e, m.pending[e.hash], "listed entry not pending")
		bytes += len(e.tx)
		if e.marked {
			marked++
			require.Same(t, e, m.marks[e.markHeight][e.hash], "marked entry not indexed")
		}
		if e.gossipElem != nil {
			require.Same(t, e, e.gossipElem.Value.(*entry))
			require.Nil(t, e.sentElem, "queued for gossip and handed out at once")
		}
		if e.sentElem != nil {
			require.Same(t, e, e.sentElem.Value.(*entry))
		}
	}
	require.Equal(t, bytes, m.bytes, "byte count")
	var last uint64
	for el := m.gossiped.Front(); el != nil; el = el.Next() {
		e := el.Value.(*entry)
		require.Same(t, e, m.pending[e.hash], "handed-out entry not pending")
		require.GreaterOrEqual(t, e.gossipedAt, last, "handed-out entries out of gossipedAt order")
		last = e.gossipedAt
	}
	indexed, absent := 0, 0
	for hgt, set := range m.marks {
		require.NotEmpty(t, set, "empty mark set kept")
		for h, e := range set {
			if e != nil {
				indexed++
				continue
			}
			absent++
			require.Equal(t, hgt, m.absent[h], "absent mark indexed at the wrong height")
			require.Nil(t, m.pending[h], "a pending tx marked as absent")
		}
	}
	require.Equal(t, marked, indexed, "marks index vs marked entries")
	require.Equal(t, len(m.absent), absent, "absent marks vs their index")
	require.LessOrEqual(t, len(m.absent), m.cfg.MaxTxs)
	for el := m.gossip.Front(); el != nil; el = el.Next() {
		e := el.Value.(*entry)
		require.Same(t, e, m.pending[e.hash], "gossip queue holds a non-pending tx")
		require.Same(t, el, e.gossipElem)
	}
	subs := 0
	for _, set := range m.subs {
		subs += len(set)
	}
	require.Equal(t, subs, m.nsubs, "subscriber count")
	require.LessOrEqual(t, len(m.pending), m.cfg.MaxTxs)
	require.LessOrEqual(t, m.bytes, m.cfg.MaxBytes)
	require.LessOrEqual(t, m.nsubs, m.cfg.MaxSubscribers)
	require.LessOrEqual(t, m.outcomes.len(), m.cfg.OutcomeCacheSize)
	require.LessOrEqual(t, len(m.outcomes.ring), m.cfg.OutcomeCacheSize)
}
