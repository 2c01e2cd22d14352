package mempool

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGossipEachLocalTxOnce(t *testing.T) {
	m := newTestMempool(t, testConfig(), newFakeChecker())
	mustAdd(t, m, Local, txN(0))
	mustAdd(t, m, Peer, txN(1))
	mustAdd(t, m, Local, txN(2))
	require.Equal(t, []string{"tx-0000", "tx-0002"}, strs(m.NextGossipBatch()), "local only, FIFO")
	require.Empty(t, m.NextGossipBatch(), "handed out once")
	mustAdd(t, m, Local, txN(3))
	require.Equal(t, []string{"tx-0003"}, strs(m.NextGossipBatch()))
	require.Empty(t, m.NextGossipBatch())
	n, _ := m.Size()
	require.Equal(t, 4, n, "gossip removes nothing from the mempool")
}

func TestGossipBatchLimits(t *testing.T) {
	cfg := testConfig()
	cfg.MaxGossipBatchTxs, cfg.MaxGossipBatchBytes, cfg.MaxTxBytes = 3, 20, 20
	m := newTestMempool(t, cfg, newFakeChecker())
	mustAdd(t, m, Local, txsN(0, 4)...)
	require.Equal(t, []string{"tx-0000", "tx-0001"}, strs(m.NextGossipBatch()), "3×7 bytes exceed 20")
	big := bytes.Repeat([]byte{'b'}, 20)
	mustAdd(t, m, Local, big)
	require.Equal(t, []string{"tx-0002", "tx-0003"}, strs(m.NextGossipBatch()), "stops before the big one")
	require.Equal(t, []string{string(big)}, strs(m.NextGossipBatch()), "a lone max-size tx always fits")

	cfg.MaxGossipBatchBytes = 1000
	m = newTestMempool(t, cfg, newFakeChecker())
	mustAdd(t, m, Local, txsN(0, 7)...)
	require.Len(t, m.NextGossipBatch(), 3)
	require.Len(t, m.NextGossipBatch(), 3)
	require.Len(t, m.NextGossipBatch(), 1)
}

func TestGossipSkipsTxsGoneBeforeTheirTurn(t *testing.T) {
	c := newFakeChecker()
	m := newTestMempool(t, testConfig(), c)
	mustAdd(t, m, Local, txsN(0, 4)...)
	c.reject(txN(2), 1)
	mustUpdate(t, m, 1, txN(0)) // 0 committed, 2 dropped by recheck
	require.Equal(t, 2, m.gossip.Len(), "the queue only references pending txs")
	require.Equal(t, []string{"tx-0001", "tx-0003"}, strs(m.NextGossipBatch()))
	checkInvariants(t, m)
}

// A local tx that no block took for RegossipHeights blocks after it was
// gossiped is gossiped again (its batch may have gone out before the
// peers were connected, and a stable leader would never see it); one in a
// proposal is not.
func TestGossipAgainWhenNoBlockTookTheTx(t *testing.T) {
	cfg := testConfig()
	cfg.RegossipHeights = 3
	m := newTestMempool(t, cfg, newFakeChecker())
	mustAdd(t, m, Local, txN(0), txN(1))
	require.Len(t, m.NextGossipBatch(), 2)
	m.MarkProposed(10, [][]byte{txN(1)}) // a proposal for a height not yet committed
	for h := uint64(1); h <= 2; h++ {
		mustUpdate(t, m, h)
		require.Empty(t, m.NextGossipBatch(), "height %d: not yet", h)
	}
	mustUpdate(t, m, 3)
	require.Equal(t, []string{"tx-0000"}, strs(m.NextGossipBatch()), "the proposed one waits for its block")
	require.Empty(t, m.NextGossipBatch())
	checkInvariants(t, m)

	cfg.RegossipHeights = 0
	m = newTestMempool(t, cfg, newFakeChecker())
	mustAdd(t, m, Local, txN(0))
	require.Len(t, m.NextGossipBatch(), 1)
	for h := uint64(1); h <= 5; h++ {
		mustUpdate(t, m, h)
	}
	require.Empty(t, m.NextGossipBatch(), "0 gossips once")
}

// Re-gossip looks only at handed-out local txs, in the order they went
// out: older peer txs that no block takes cannot keep a local one from
// its turn.
func TestRegossipIsNotStarvedByOlderTxs(t *testing.T) {
	cfg := testConfig()
	cfg.RegossipHeights, cfg.MaxGossipBatchTxs = 2, 2
	m := newTestMempool(t, cfg, newFakeChecker())
	mustAdd(t, m, Peer, txsN(0, 5)...)
	mustAdd(t, m, Local, txN(9))
	require.Equal(t, []string{"tx-0009"}, strs(m.NextGossipBatch()))
	mustUpdate(t, m, 1)
	mustUpdate(t, m, 2)
	require.Equal(t, []string{"tx-0009"}, strs(m.NextGossipBatch()))
	checkInvariants(t, m)
}
