package mempool

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/app"
)

func TestAddAdmission(t *testing.T) {
	cfg := testConfig()
	cfg.MaxTxs, cfg.MaxBytes, cfg.MaxTxBytes = 3, 100, 40
	big := bytes.Repeat([]byte{'x'}, 40)
	cases := []struct {
		name     string
		setup    func(t *testing.T, m *Mempool, c *fakeChecker)
		tx       []byte
		src      Source
		wantIs   error  // errors.Is target; nil = accepted
		wantText string // exact error text, if set
		counter  func(Stats) uint64
	}{
		{name: "ok", tx: []byte("a"), src: Local,
			counter: func(s Stats) uint64 { return s.Accepted }},
		{name: "ok from peer", tx: []byte("a"), src: Peer,
			counter: func(s Stats) uint64 { return s.Accepted }},
		{name: "fills bytes exactly",
			setup: func(t *testing.T, m *Mempool, _ *fakeChecker) {
				mustAdd(t, m, Peer, big, bytes.Repeat([]byte{'y'}, 40))
			},
			tx: bytes.Repeat([]byte{'z'}, 20), src: Local,
			counter: func(s Stats) uint64 { return s.Accepted - 2 }},
		{name: "empty", tx: []byte{}, src: Local, wantIs: ErrEmptyTx, wantText: "empty tx",
			counter: func(s Stats) uint64 { return s.Rejected.Empty }},
		{name: "too large", tx: bytes.Repeat([]byte{'x'}, 41), src: Local, wantIs: ErrTxTooLarge,
			wantText: "tx too large: 41 bytes (limit 40)",
			counter:  func(s Stats) uint64 { return s.Rejected.TooLarge }},
		{name: "duplicate of pending",
			setup: func(t *testing.T, m *Mempool, _ *fakeChecker) { mustAdd(t, m, Peer, []byte("a")) },
			tx:    []byte("a"), src: Local, wantIs: ErrDuplicate,
			wantText: "duplicate tx: " + HashTx([]byte("a")).String() + " is pending",
			counter:  func(s Stats) uint64 { return s.Rejected.Duplicate }},
		{name: "duplicate of committed",
			setup: func(t *testing.T, m *Mempool, _ *fakeChecker) {
				mustAdd(t, m, Local, []byte("a"))
				mustUpdate(t, m, 7, []byte("a"))
			},
			tx: []byte("a"), src: Peer, wantIs: ErrDuplicate,
			wantText: "duplicate tx: " + HashTx([]byte("a")).String() + " committed at height 7",
			counter:  func(s Stats) uint64 { return s.Rejected.Duplicate }},
		{name: "duplicate of a tx committed via another node",
			setup: func(t *testing.T, m *Mempool, _ *fakeChecker) { mustUpdate(t, m, 1, []byte("a")) },
			tx:    []byte("a"), src: Peer, wantIs: ErrDuplicate,
			counter: func(s Stats) uint64 { return s.Rejected.Duplicate }},
		{name: "a dropped tx may come back",
			setup: func(t *testing.T, m *Mempool, c *fakeChecker) {
				mustAdd(t, m, Local, []byte("a"))
				c.reject([]byte("a"), 3)
				mustUpdate(t, m, 1)
				o, _ := m.Status(HashTx([]byte("a")))
				require.Equal(t, Dropped, o.Status)
				delete(c.rejected, "a")
			},
			tx: []byte("a"), src: Local,
			counter: func(s Stats) uint64 { return s.Accepted - 1 }},
		{name: "rejected by CheckTx",
			setup: func(_ *testing.T, _ *Mempool, c *fakeChecker) { c.reject([]byte("bad"), 7) },
			tx:    []byte("bad"), src: Local, wantIs: &RejectedError{},
			wantText: "tx rejected by CheckTx: code 7: no bad",
			counter:  func(s Stats) uint64 { return s.Rejected.CheckTx }},
		{name: "CheckTx fails",
			setup: func(_ *testing.T, _ *Mempool, c *fakeChecker) { c.setErr(io.ErrUnexpectedEOF) },
			tx:    []byte("a"), src: Local, wantIs: io.ErrUnexpectedEOF,
			wantText: "mempool: CheckTx: unexpected EOF",
			counter:  func(s Stats) uint64 { return s.Rejected.CheckTxError }},
		{name: "full by count",
			setup: func(t *testing.T, m *Mempool, _ *fakeChecker) { mustAdd(t, m, Peer, txsN(0, 3)...) },
			tx:    []byte("a"), src: Local, wantIs: ErrMempoolFull,
			wantText: "mempool full: 3 txs, 21 bytes (limits 3 txs, 100 bytes)",
			counter:  func(s Stats) uint64 { return s.Rejected.Full }},
		{name: "full by bytes",
			setup: func(t *testing.T, m *Mempool, _ *fakeChecker) {
				mustAdd(t, m, Peer, big, bytes.Repeat([]byte{'y'}, 40))
			},
			tx: bytes.Repeat([]byte{'z'}, 21), src: Local, wantIs: ErrMempoolFull,
			wantText: "mempool full: 2 txs, 80 bytes (limits 3 txs, 100 bytes)",
			counter:  func(s Stats) uint64 { return s.Rejected.Full }},
		{name: "duplicate wins over full",
			setup: func(t *testing.T, m *Mempool, _ *fakeChecker) { mustAdd(t, m, Peer, txsN(0, 3)...) },
			tx:    txN(1), src: Local, wantIs: ErrDuplicate,
			counter: func(s Stats) uint64 { return s.Rejected.Duplicate }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeChecker()
			m := newTestMempool(t, cfg, c)
			if tc.setup != nil {
				tc.setup(t, m, c)
			}
			txsBefore, bytesBefore := m.Size()
			checksBefore := len(c.checkCalls())

			h, err := m.Add(context.Background(), tc.tx, tc.src)

			require.Equal(t, HashTx(tc.tx), h, "Add returns the hash even on error")
			require.Equal(t, uint64(1), tc.counter(m.Stats()), "counted once")
			txs, size := m.Size()
			if tc.wantIs == nil {
				require.NoError(t, err)
				require.Equal(t, txsBefore+1, txs)
				require.Equal(t, bytesBefore+len(tc.tx), size)
				o, ok := m.Status(h)
				require.True(t, ok)
				require.Equal(t, Outcome{Status: Pending}, o)
				return
			}
			if re := (*RejectedError)(nil); errors.As(tc.wantIs, &re) {
				require.ErrorAs(t, err, &re)
				require.Equal(t, &RejectedError{Code: 7, Log: "no bad"}, re)
			} else {
				require.ErrorIs(t, err, tc.wantIs)
			}
			if tc.wantText != "" {
				require.EqualError(t, err, tc.wantText)
			}
			require.Equal(t, txsBefore, txs, "nothing admitted")
			require.Equal(t, bytesBefore, size)
			if errors.Is(err, ErrMempoolFull) || errors.Is(err, ErrDuplicate) || errors.Is(err, ErrTxTooLarge) {
				require.Len(t, c.checkCalls(), checksBefore, "the app is spared a tx that cannot be admitted")
			}
			checkInvariants(t, m)
		})
	}
}

func TestAddRejectsUnknownSource(t *testing.T) {
	m := newTestMempool(t, testConfig(), newFakeChecker())
	_, err := m.Add(context.Background(), []byte("a"), Source(0))
	require.ErrorContains(t, err, "invalid tx source 0")
}

func TestAddCopiesTx(t *testing.T) {
	m := newTestMempool(t, testConfig(), newFakeChecker())
	buf := []byte("abc")
	mustAdd(t, m, Local, buf)
	buf[0] = 'X' // the caller reuses its buffer
	require.Equal(t, []string{"abc"}, strs(m.Reap(-1, -1)))
}

// blockOn parks the first CheckTx of tx until release is closed; later
// calls for it pass straight through.
func blockOn(c *fakeChecker, tx []byte) (entered, release chan struct{}) {
	entered, release = make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	c.hook = func(req app.CheckTxRequest) {
		if bytes.Equal(req.Tx, tx) && !req.Recheck && first.CompareAndSwap(false, true) {
			close(entered)
			<-release
		}
	}
	return entered, release
}

// The limits are checked again after CheckTx: other Adds may have filled
// the mempool while the application was deciding.
func TestAddRechecksLimitsAfterCheckTx(t *testing.T) {
	cfg := testConfig()
	cfg.MaxTxs = 2
	c := newFakeChecker()
	m := newTestMempool(t, cfg, c)
	entered, release := blockOn(c, []byte("slow"))
	errc := make(chan error)
	go func() {
		_, err := m.Add(context.Background(), []byte("slow"), Local)
		errc <- err
	}()
	<-entered
	mustAdd(t, m, Local, []byte("a"), []byte("b"))
	close(release)
	err := <-errc
	require.ErrorIs(t, err, ErrMempoolFull)
	require.EqualError(t, err, "mempool full: 2 txs, 2 bytes (limits 2 txs, 10000 bytes)")
	n, _ := m.Size()
	require.Equal(t, 2, n)
	checkInvariants(t, m)
}

// A tx committed (via another node's proposal) while its CheckTx ran is a
// duplicate, not a new pending tx that would be proposed again.
func TestAddCommittedDuringCheckTxIsDuplicate(t *testing.T) {
	c := newFakeChecker()
	m := newTestMempool(t, testConfig(), c)
	entered, release := blockOn(c, []byte("a"))
	errc := make(chan error)
	go func() {
		_, err := m.Add(context.Background(), []byte("a"), Peer)
		errc <- err
	}()
	<-entered
	mustUpdate(t, m, 1, []byte("a"))
	close(release)
	require.ErrorIs(t, <-errc, ErrDuplicate)
	n, _ := m.Size()
	require.Zero(t, n)
}

// Copies of a tx arriving from several peers at once cost one CheckTx.
func TestAddSameTxConcurrentlyChecksOnce(t *testing.T) {
	c := newFakeChecker()
	m := newTestMempool(t, testConfig(), c)
	entered, release := blockOn(c, []byte("a"))
	errc := make(chan error)
	go func() {
		_, err := m.Add(context.Background(), []byte("a"), Peer)
		errc <- err
	}()
	<-entered
	_, err := m.Add(context.Background(), []byte("a"), Peer)
	require.ErrorIs(t, err, ErrDuplicate)
	require.ErrorContains(t, err, "being admitted")
	close(release)
	require.NoError(t, <-errc)
	require.Equal(t, []string{"a"}, c.checkCalls())
}

// A panicking CheckTx must not leave the tx reserved forever.
func TestAddCheckTxPanicReleasesReservation(t *testing.T) {
	c := newFakeChecker()
	m := newTestMempool(t, testConfig(), c)
	c.hook = func(app.CheckTxRequest) { panic("app bug") }
	require.Panics(t, func() { _, _ = m.Add(context.Background(), []byte("a"), Local) })
	c.hook = nil
	mustAdd(t, m, Local, []byte("a"))
}
