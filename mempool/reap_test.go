package mempool

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/app"
)

func TestReapFIFOAndLimits(t *testing.T) {
	m := newTestMempool(t, testConfig(), newFakeChecker())
	mustAdd(t, m, Peer, txN(3), txN(1), txN(2))
	mustAdd(t, m, Local, []byte("long-tx-0"))

	require.Equal(t, []string{"tx-0003", "tx-0001", "tx-0002", "long-tx-0"}, strs(m.Reap(-1, -1)), "arrival order, not hash or value order")
	require.Equal(t, []string{"tx-0003", "tx-0001"}, strs(m.Reap(2, -1)))
	require.Empty(t, m.Reap(0, -1))
	require.Equal(t, []string{"tx-0003", "tx-0001"}, strs(m.Reap(-1, 20)), "7+7 fit in 20, the third does not")
	require.Equal(t, []string{"tx-0003", "tx-0001", "tx-0002"}, strs(m.Reap(-1, 21)), "exactly 21")
	require.Empty(t, m.Reap(10, 6), "the first tx does not fit: stop, do not skip ahead")
	require.Equal(t, []string{"tx-0003", "tx-0001", "tx-0002", "long-tx-0"}, strs(m.Reap(-1, -1)), "reaping removes nothing")
	n, size := m.Size()
	require.Equal(t, 4, n)
	require.Equal(t, 7*3+9, size)

	mustAdd(t, m, Peer, []byte("s"))
	require.Equal(t, []string{"tx-0003", "tx-0001"}, strs(m.Reap(-1, 15)), "s would fit, but must not overtake tx-0002")
}

func TestMarkProposedExcludesFromReap(t *testing.T) {
	m := newTestMempool(t, testConfig(), newFakeChecker())
	mustAdd(t, m, Local, txsN(0, 5)...)

	m.MarkProposed(1, [][]byte{txN(1), txN(3), []byte("unknown")})
	require.Equal(t, []string{"tx-0000", "tx-0002", "tx-0004"}, strs(m.Reap(-1, -1)))
	require.Equal(t, []string{"tx-0000", "tx-0002"}, strs(m.Reap(2, -1)), "the limit counts reaped txs only")

	o, _ := m.Status(HashTx(txN(1)))
	require.Equal(t, Pending, o.Status, "marked txs are still pending")
	n, _ := m.Size()
	require.Equal(t, 5, n)
	checkInvariants(t, m)
}

func TestUpdateRemovesCommittedAndReleasesAbandoned(t *testing.T) {
	m := newTestMempool(t, testConfig(), newFakeChecker())
	mustAdd(t, m, Local, txsN(0, 6)...)

	// Pipelined: proposal A at 1 carries 0,1; B at 2 (child of A) carries 2;
	// A is abandoned and A' at height 1 carries 1,4 and commits.
	m.MarkProposed(1, [][]byte{txN(0), txN(1)})
	m.MarkProposed(2, [][]byte{txN(2)})
	m.MarkProposed(1, [][]byte{txN(1), txN(4)})
	require.Equal(t, []string{"tx-0003", "tx-0005"}, strs(m.Reap(-1, -1)))

	mustUpdate(t, m, 1, txN(1), txN(4))
	require.Equal(t, []string{"tx-0000", "tx-0003", "tx-0005"}, strs(m.Reap(-1, -1)),
		"1 and 4 committed; 0 released (its proposal lost); 2 still marked at height 2")
	for _, i := range []int{1, 4} {
		o, ok := m.Status(HashTx(txN(i)))
		require.True(t, ok)
		require.Equal(t, Outcome{Status: Committed, Height: 1}, o)
	}
	n, size := m.Size()
	require.Equal(t, 4, n)
	require.Equal(t, 4*7, size)

	mustUpdate(t, m, 2, txN(5)) // B abandoned; another block at 2
	require.Equal(t, []string{"tx-0000", "tx-0002", "tx-0003"}, strs(m.Reap(-1, -1)))
	require.Equal(t, uint64(3), m.Stats().Committed)
	checkInvariants(t, m)
}

// A tx seen at heights 3 and 4 stays hidden until 4 commits: releasing it
// at 3 would let a leader propose it alongside the in-flight block at 4.
func TestMarkKeepsHighestHeight(t *testing.T) {
	m := newTestMempool(t, testConfig(), newFakeChecker())
	mustAdd(t, m, Local, txN(0))
	m.MarkProposed(4, [][]byte{txN(0)})
	m.MarkProposed(3, [][]byte{txN(0)})
	mustUpdate(t, m, 3)
	require.Empty(t, m.Reap(-1, -1))
	mustUpdate(t, m, 4)
	require.Equal(t, []string{"tx-0000"}, strs(m.Reap(-1, -1)))
	checkInvariants(t, m)
}

// A proposal at an already committed height is stale: marking from it
// would hide the tx for nothing.
func TestMarkProposedIgnoresCommittedHeights(t *testing.T) {
	m := newTestMempool(t, testConfig(), newFakeChecker())
	mustAdd(t, m, Local, txN(0))
	mustUpdate(t, m, 5)
	m.MarkProposed(5, [][]byte{txN(0)})
	m.MarkProposed(2, [][]byte{txN(0)})
	require.Equal(t, []string{"tx-0000"}, strs(m.Reap(-1, -1)))
	m.MarkProposed(6, [][]byte{txN(0)})
	require.Empty(t, m.Reap(-1, -1))
}

// A leader proposes its clients' txs before gossiping them, so a replica
// may see a tx in a proposal before the tx itself. It must arrive marked,
// or the next leader would propose it again.
func TestMarkBeforeTxArrives(t *testing.T) {
	cfg := testConfig()
	cfg.MaxTxs = 2 // also bounds the remembered absent marks
	m := newTestMempool(t, cfg, newFakeChecker())
	m.MarkProposed(1, txsN(0, 3))
	mustAdd(t, m, Peer, txN(0), txN(2))
	require.Equal(t, []string{"tx-0002"}, strs(m.Reap(-1, -1)), "tx 2's mark was beyond the bound")
	checkInvariants(t, m)

	mustUpdate(t, m, 1) // the proposal was abandoned
	require.Equal(t, []string{"tx-0000", "tx-0002"}, strs(m.Reap(-1, -1)))
	require.Empty(t, m.absent, "tx 1's mark was released though it never came")
	checkInvariants(t, m)
}

// Marks made before the first Update (a node that just started at some
// height) are released by the first Update at or above their height.
func TestMarksBeforeFirstUpdate(t *testing.T) {
	m := newTestMempool(t, testConfig(), newFakeChecker())
	mustAdd(t, m, Local, txN(0), txN(1))
	m.MarkProposed(1001, [][]byte{txN(0)})
	m.MarkProposed(1002, [][]byte{txN(1)})
	mustUpdate(t, m, 1001)
	require.Equal(t, []string{"tx-0000"}, strs(m.Reap(-1, -1)))
}

func TestUpdateHeightOrder(t *testing.T) {
	m := newTestMempool(t, testConfig(), newFakeChecker())
	mustAdd(t, m, Local, txN(0))
	mustUpdate(t, m, 10)
	for _, h := range []uint64{10, 9} {
		err := m.Update(context.Background(), h, [][]byte{txN(0)})
		require.ErrorIs(t, err, ErrHeightOrder)
		require.EqualError(t, err, fmt.Sprintf("update height out of order: height %d after 10", h))
	}
	o, _ := m.Status(HashTx(txN(0)))
	require.Equal(t, Pending, o.Status, "a rejected Update changes nothing")
	mustUpdate(t, m, 12) // gaps are allowed (state sync)
}

func TestRecheckDropsRejectedTxs(t *testing.T) {
	c := newFakeChecker()
	m := newTestMempool(t, testConfig(), c)
	mustAdd(t, m, Local, txsN(0, 4)...)
	bad := HashTx(txN(2))
	ch, cancel, err := m.Subscribe(bad)
	require.NoError(t, err)
	defer cancel()

	c.reject(txN(2), 9) // the commit spent what tx 2 needed
	mustUpdate(t, m, 1, txN(0))

	require.Equal(t, []string{"tx-0001", "tx-0002", "tx-0003"}, c.recheckCalls(), "every remaining tx rechecked, the committed one not")
	require.Equal(t, []string{"tx-0001", "tx-0003"}, strs(m.Reap(-1, -1)))
	want := Outcome{Status: Dropped, Height: 1, Reason: DropRecheck, Detail: "code 9: no tx-0002"}
	o, ok := m.Status(bad)
	require.True(t, ok)
	require.Equal(t, want, o)
	require.Equal(t, want, recvNow(t, ch))
	require.Equal(t, uint64(1), m.Stats().Dropped.Recheck)
	n, size := m.Size()
	require.Equal(t, 2, n)
	require.Equal(t, 14, size)
	checkInvariants(t, m)
}

// Bounded recheck continues round-robin across Updates, and its cursor
// survives the removal of the tx it points at.
func TestRecheckRoundRobin(t *testing.T) {
	cfg := testConfig()
	cfg.MaxRecheckPerUpdate = 2
	c := newFakeChecker()
	m := newTestMempool(t, cfg, c)
	mustAdd(t, m, Local, txsN(0, 5)...)

	mustUpdate(t, m, 1)
	require.Equal(t, []string{"tx-0000", "tx-0001"}, c.recheckCalls())
	mustUpdate(t, m, 2, txN(2)) // commits the tx the cursor points at
	require.Equal(t, []string{"tx-0000", "tx-0001", "tx-0003", "tx-0004"}, c.recheckCalls())
	mustUpdate(t, m, 3)
	require.Equal(t, []string{"tx-0000", "tx-0001", "tx-0003", "tx-0004", "tx-0000", "tx-0001"}, c.recheckCalls(), "wraps to the front")

	cfg.MaxRecheckPerUpdate = 10
	c2 := newFakeChecker()
	m2 := newTestMempool(t, cfg, c2)
	mustAdd(t, m2, Local, txsN(0, 3)...)
	mustUpdate(t, m2, 1)
	require.Equal(t, []string{"tx-0000", "tx-0001", "tx-0002"}, c2.recheckCalls(), "each tx at most once per Update")
}

// A marked tx is in a proposal that may still commit; dropping it would
// report Dropped for a tx about to be Committed.
func TestRecheckSkipsMarkedTxs(t *testing.T) {
	c := newFakeChecker()
	m := newTestMempool(t, testConfig(), c)
	mustAdd(t, m, Local, txN(0), txN(1))
	m.MarkProposed(2, [][]byte{txN(0)})
	c.reject(txN(0), 1)
	mustUpdate(t, m, 1)
	require.Equal(t, []string{"tx-0001"}, c.recheckCalls())
	o, _ := m.Status(HashTx(txN(0)))
	require.Equal(t, Pending, o.Status)
	mustUpdate(t, m, 2) // its proposal was abandoned: now it is rechecked
	o, _ = m.Status(HashTx(txN(0)))
	require.Equal(t, Dropped, o.Status)
}

// A tx marked while its recheck ran (outside the lock) is in a proposal
// now, and is spared like any marked tx.
func TestRecheckSparesTxMarkedMeanwhile(t *testing.T) {
	c := newFakeChecker()
	m := newTestMempool(t, testConfig(), c)
	mustAdd(t, m, Local, txN(0), txN(1))
	c.reject(txN(0), 1)
	c.reject(txN(1), 1)
	c.hook = func(req app.CheckTxRequest) {
		if req.Recheck && string(req.Tx) == "tx-0000" {
			m.MarkProposed(2, [][]byte{txN(0)}) // a proposal arrives meanwhile
		}
	}
	mustUpdate(t, m, 1)
	require.Equal(t, []string{"tx-0000", "tx-0001"}, c.recheckCalls())
	o, _ := m.Status(HashTx(txN(0)))
	require.Equal(t, Pending, o.Status, "marked meanwhile: kept")
	o, _ = m.Status(HashTx(txN(1)))
	require.Equal(t, Dropped, o.Status)
	checkInvariants(t, m)
}

// The application being unreachable is no reason to drop anything.
func TestRecheckErrorKeepsTxs(t *testing.T) {
	c := newFakeChecker()
	m := newTestMempool(t, testConfig(), c)
	mustAdd(t, m, Local, txN(0), txN(1))
	c.setErr(errors.New("app down"))
	err := m.Update(context.Background(), 1, [][]byte{txN(0)})
	require.ErrorContains(t, err, "recheck at height 1 stopped after 0 of 1 txs: app down")
	o, _ := m.Status(HashTx(txN(0)))
	require.Equal(t, Committed, o.Status, "the block was applied")
	o, _ = m.Status(HashTx(txN(1)))
	require.Equal(t, Pending, o.Status)

	c.setErr(nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, m.Update(ctx, 2, nil), context.Canceled)
	o, _ = m.Status(HashTx(txN(1)))
	require.Equal(t, Pending, o.Status)
	checkInvariants(t, m)
}

func TestTTLDropsWithReason(t *testing.T) {
	cfg := testConfig()
	cfg.TTLHeights = 2
	m := newTestMempool(t, cfg, newFakeChecker())
	mustAdd(t, m, Local, txN(0), txN(1), txN(2))
	m.MarkProposed(103, [][]byte{txN(2)})
	mustUpdate(t, m, 101) // TTL counts blocks since admission, not heights
	mustAdd(t, m, Local, txN(3))
	ch, cancel, err := m.Subscribe(HashTx(txN(0)))
	require.NoError(t, err)
	defer cancel()

	mustUpdate(t, m, 102, txN(1))
	want := Outcome{Status: Dropped, Height: 102, Reason: DropExpired, Detail: "not committed within 2 blocks"}
	o, _ := m.Status(HashTx(txN(0)))
	require.Equal(t, want, o)
	require.Equal(t, want, recvNow(t, ch))
	o, _ = m.Status(HashTx(txN(1)))
	require.Equal(t, Committed, o.Status, "committed at its last chance")
	o, _ = m.Status(HashTx(txN(2)))
	require.Equal(t, Pending, o.Status, "in flight at 103: not expired yet")
	o, _ = m.Status(HashTx(txN(3)))
	require.Equal(t, Pending, o.Status, "one block old")

	mustUpdate(t, m, 103) // 2's proposal abandoned: released, and expired
	o, _ = m.Status(HashTx(txN(2)))
	require.Equal(t, Dropped, o.Status)
	o, _ = m.Status(HashTx(txN(3)))
	require.Equal(t, Dropped, o.Status)
	require.Equal(t, uint64(3), m.Stats().Dropped.Expired)
	n, _ := m.Size()
	require.Zero(t, n)
	checkInvariants(t, m)
}
