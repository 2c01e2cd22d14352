package node

import (
	"fmt"
	"testing"

	"github.com/bftkit/bftkit/mempool"
	"github.com/stretchr/testify/require"
)

func TestFailureLogIsBoundedAndKeepsRepeatedHashes(t *testing.T) {
	l := newFailureLog()
	first := mempool.HashTx([]byte("first"))
	l.put(first, "full")
	l.put(first, "still full")
	for i := range maxAsyncFailures - 1 {
		l.put(mempool.HashTx(fmt.Appendf(nil, "tx%d", i)), "rejected")
	}
	reason, ok := l.get(first)
	require.True(t, ok, "a repeated hash took one slot, so it is still remembered")
	require.Equal(t, "still full", reason)
	l.put(mempool.HashTx([]byte("one more")), "rejected")
	_, ok = l.get(first)
	require.False(t, ok, "the oldest is forgotten once the log is full")
	require.Len(t, l.byHash, maxAsyncFailures)
}
