package mempool

import (
	"fmt"

	"github.com/bftkit/bftkit/types"
)

// Config bounds every piece of memory the mempool holds and the work one
// Update does. Every limit is required: a zero limit is a mistake, not
// "unlimited", so that no configuration leaves memory unbounded.
type Config struct {
	// MaxTxs and MaxBytes bound the pending transactions. Add rejects with
	// ErrMempoolFull beyond them rather than evicting: a full mempool means
	// the chain is not keeping up, and evicting would silently drop txs a
	// client was told were accepted.
	MaxTxs   int
	MaxBytes int
	// MaxTxBytes bounds one transaction. It may not exceed
	// types.MaxTxBytes, since peers would refuse a block carrying a larger
	// one, nor MaxBytes or MaxGossipBatchBytes.
	MaxTxBytes int
	// MaxGossipBatchTxs and MaxGossipBatchBytes bound one NextGossipBatch.
	MaxGossipBatchTxs   int
	MaxGossipBatchBytes int
	// OutcomeCacheSize bounds the final outcomes (committed, dropped) kept
	// for Status, Subscribe and duplicate detection; the oldest go first.
	OutcomeCacheSize int
	// MaxRecheckPerUpdate bounds the CheckTx{Recheck} calls one Update
	// makes, so a commit never stalls on a full mempool. Successive
	// Updates continue round-robin where the last one stopped.
	MaxRecheckPerUpdate int
	// TTLHeights drops a pending tx once that many blocks have committed
	// since it was admitted without including it, so a tx that is never
	// proposed (for example one PrepareProposal always leaves out) does
	// not hold a slot forever. 0 disables the TTL.
	TTLHeights uint64
	// MaxSubscribers bounds the outstanding Subscribe calls.
	MaxSubscribers int
	// RegossipHeights gossips a local tx again when that many blocks have
	// committed since it was last gossiped without including it or
	// proposing it. 0 gossips once.
	RegossipHeights uint64
}

// DefaultConfig suits a validator with blocks of up to types.MaxBlockTxs:
// the pending set holds a few full blocks, and the outcome cache remembers
// the last few full blocks' worth of committed txs.
func DefaultConfig() Config {
	return Config{
		MaxTxs:              50_000,
		MaxBytes:            64 << 20,
		MaxTxBytes:          types.MaxTxBytes,
		MaxGossipBatchTxs:   1000,
		MaxGossipBatchBytes: 1 << 20,
		OutcomeCacheSize:    100_000,
		MaxRecheckPerUpdate: 10_000,
		TTLHeights:          1000,
		MaxSubscribers:      10_000,
		RegossipHeights:     16,
	}
}

// Validate reports the first bad field by name.
func (c Config) Validate() error {
	positive := []struct {
		name string
		v    int
	}{
		{"MaxTxs", c.MaxTxs},
		{"MaxBytes", c.MaxBytes},
		{"MaxTxBytes", c.MaxTxBytes},
		{"MaxGossipBatchTxs", c.MaxGossipBatchTxs},
		{"MaxGossipBatchBytes", c.MaxGossipBatchBytes},
		{"OutcomeCacheSize", c.OutcomeCacheSize},
		{"MaxRecheckPerUpdate", c.MaxRecheckPerUpdate},
		{"MaxSubscribers", c.MaxSubscribers},
	}
	for _, f := range positive {
		if f.v <= 0 {
			return fmt.Errorf("mempool config: %s = %d, must be positive", f.name, f.v)
		}
	}
	switch {
	case c.MaxTxBytes > types.MaxTxBytes:
		return fmt.Errorf("mempool config: MaxTxBytes = %d exceeds types.MaxTxBytes = %d", c.MaxTxBytes, types.MaxTxBytes)
	case c.MaxTxBytes > c.MaxBytes:
		return fmt.Errorf("mempool config: MaxTxBytes = %d exceeds MaxBytes = %d", c.MaxTxBytes, c.MaxBytes)
	case c.MaxTxBytes > c.MaxGossipBatchBytes:
		// Otherwise a large local tx could never be gossiped.
		return fmt.Errorf("mempool config: MaxTxBytes = %d exceeds MaxGossipBatchBytes = %d", c.MaxTxBytes, c.MaxGossipBatchBytes)
	}
	return nil
}
