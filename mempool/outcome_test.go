package mempool

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOutcomeCacheEvictsOldestFirst(t *testing.T) {
	c := newOutcomeCache(3)
	h := func(i int) TxHash { return HashTx(txN(i)) }
	for i := range 3 {
		c.put(h(i), Outcome{Status: Committed, Height: uint64(i)})
	}
	c.put(h(0), Outcome{Status: Dropped, Reason: DropRecheck}) // re-recorded: now the newest
	_, ok := c.get(h(0))
	require.True(t, ok, "the stale slot of the first record must not evict the second")
	require.Equal(t, 3, c.len())

	c.put(h(3), Outcome{Status: Committed, Height: 3})
	_, ok = c.get(h(1))
	require.False(t, ok, "1 is now the oldest")
	for _, i := range []int{0, 2, 3} {
		_, ok := c.get(h(i))
		require.True(t, ok, "tx %d", i)
	}
	o, _ := c.get(h(0))
	require.Equal(t, Dropped, o.Status)
	require.Equal(t, 3, c.len())
	require.Len(t, c.ring, 3)
}

// Through the mempool: the committed outcomes of old blocks are forgotten.
func TestStatusForgetsBeyondCache(t *testing.T) {
	cfg := testConfig()
	cfg.OutcomeCacheSize = 2
	m := newTestMempool(t, cfg, newFakeChecker())
	mustUpdate(t, m, 1, txN(0))
	mustUpdate(t, m, 2, txN(1), txN(1)) // a repeated tx takes one slot
	_, ok := m.Status(HashTx(txN(0)))
	require.True(t, ok)
	mustUpdate(t, m, 3, txN(2))
	_, ok = m.Status(HashTx(txN(0)))
	require.False(t, ok)
	o, ok := m.Status(HashTx(txN(2)))
	require.True(t, ok)
	require.Equal(t, Outcome{Status: Committed, Height: 3}, o)
	checkInvariants(t, m)
}

// The chain is the truth: a tx this node dropped may commit through
// another leader's proposal, and then Status says so.
func TestCommittedOverridesDropped(t *testing.T) {
	c := newFakeChecker()
	m := newTestMempool(t, testConfig(), c)
	mustAdd(t, m, Local, txN(0))
	c.reject(txN(0), 1)
	mustUpdate(t, m, 1)
	o, _ := m.Status(HashTx(txN(0)))
	require.Equal(t, Dropped, o.Status)
	mustUpdate(t, m, 2, txN(0))
	o, _ = m.Status(HashTx(txN(0)))
	require.Equal(t, Outcome{Status: Committed, Height: 2}, o)
}

func TestStatusUnknown(t *testing.T) {
	m := newTestMempool(t, testConfig(), newFakeChecker())
	_, ok := m.Status(HashTx([]byte("never")))
	require.False(t, ok)
}

func TestStatusAndReasonNames(t *testing.T) {
	require.Equal(t, "pending", Pending.String())
	require.Equal(t, "committed", Committed.String())
	require.Equal(t, "dropped", Dropped.String())
	require.Equal(t, "status(0)", Status(0).String())
	require.Equal(t, "recheck", DropRecheck.String())
	require.Equal(t, "expired", DropExpired.String())
	require.Equal(t, "", NoReason.String())
	require.Equal(t, "local", Local.String())
	require.Equal(t, "peer", Peer.String())
}
