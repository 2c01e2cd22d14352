package mempool

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func recvNow(t *testing.T, ch <-chan Outcome) Outcome {
	t.Helper()
	select {
	case o := <-ch:
		return o
	default:
		t.Fatal("no outcome delivered")
		return Outcome{}
	}
}

func requireNothing(t *testing.T, ch <-chan Outcome) {
	t.Helper()
	select {
	case o := <-ch:
		t.Fatalf("unexpected outcome %+v", o)
	default:
	}
}

func TestSubscribeFiresOnCommit(t *testing.T) {
	m := newTestMempool(t, testConfig(), newFakeChecker())
	mustAdd(t, m, Local, txN(0))
	ch, cancel, err := m.Subscribe(HashTx(txN(0)))
	require.NoError(t, err)
	defer cancel()
	ch2, cancel2, err := m.Subscribe(HashTx(txN(0))) // two HTTP clients wait on one tx
	require.NoError(t, err)
	defer cancel2()
	requireNothing(t, ch)
	mustUpdate(t, m, 1, txN(1))
	requireNothing(t, ch)
	mustUpdate(t, m, 2, txN(0))
	want := Outcome{Status: Committed, Height: 2}
	require.Equal(t, want, recvNow(t, ch))
	require.Equal(t, want, recvNow(t, ch2))
	mustUpdate(t, m, 3, txN(0)) // committed again (a faulty leader): no second value
	requireNothing(t, ch)
	checkInvariants(t, m)
	require.Zero(t, m.nsubs, "fired subscriptions are released")
}

func TestSubscribeFiresOnDrop(t *testing.T) {
	c := newFakeChecker()
	m := newTestMempool(t, testConfig(), c)
	mustAdd(t, m, Local, txN(0))
	ch, cancel, err := m.Subscribe(HashTx(txN(0)))
	require.NoError(t, err)
	defer cancel()
	c.reject(txN(0), 4)
	mustUpdate(t, m, 1)
	require.Equal(t, Outcome{Status: Dropped, Height: 1, Reason: DropRecheck, Detail: "code 4: no tx-0000"}, recvNow(t, ch))
}

func TestSubscribeFiresImmediatelyWhenFinal(t *testing.T) {
	m := newTestMempool(t, testConfig(), newFakeChecker())
	mustAdd(t, m, Local, txN(0))
	mustUpdate(t, m, 1, txN(0))
	ch, cancel, err := m.Subscribe(HashTx(txN(0)))
	require.NoError(t, err)
	cancel()
	cancel() // idempotent
	require.Equal(t, Outcome{Status: Committed, Height: 1}, recvNow(t, ch), "even after cancel, the value is there")
	require.Zero(t, m.nsubs)
}

// A client may wait on a tx submitted to another node: it fires when a
// block commits it.
func TestSubscribeUnknownTxFiresOnCommit(t *testing.T) {
	m := newTestMempool(t, testConfig(), newFakeChecker())
	ch, cancel, err := m.Subscribe(HashTx(txN(0)))
	require.NoError(t, err)
	defer cancel()
	mustUpdate(t, m, 1, txN(0))
	require.Equal(t, Outcome{Status: Committed, Height: 1}, recvNow(t, ch))
}

func TestSubscribeCancelReleases(t *testing.T) {
	cfg := testConfig()
	cfg.MaxSubscribers = 2
	m := newTestMempool(t, cfg, newFakeChecker())
	mustAdd(t, m, Local, txN(0))
	ch, cancel, err := m.Subscribe(HashTx(txN(0)))
	require.NoError(t, err)
	_, cancel2, err := m.Subscribe(HashTx(txN(1)))
	require.NoError(t, err)
	defer cancel2()

	_, _, err = m.Subscribe(HashTx(txN(2)))
	require.ErrorIs(t, err, ErrTooManySubscribers)
	require.EqualError(t, err, "too many subscribers: 2 waiting (limit 2)")

	cancel()
	cancel()
	require.Equal(t, 1, m.nsubs, "cancel releases exactly its own slot")
	require.NotContains(t, m.subs, HashTx(txN(0)), "no empty set left behind")
	mustUpdate(t, m, 1, txN(0))
	requireNothing(t, ch)

	_, cancel3, err := m.Subscribe(HashTx(txN(2)))
	require.NoError(t, err, "the slot is free again")
	cancel3()
	checkInvariants(t, m)
}

// Nobody reading must not block the mempool: the channel has room for its
// one value.
func TestSubscribeNobodyReads(t *testing.T) {
	m := newTestMempool(t, testConfig(), newFakeChecker())
	mustAdd(t, m, Local, txN(0))
	for range 3 {
		_, cancel, err := m.Subscribe(HashTx(txN(0)))
		require.NoError(t, err)
		defer cancel()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = m.Update(context.Background(), 1, [][]byte{txN(0)})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Update blocked on an unread subscription")
	}
	checkInvariants(t, m)
}
