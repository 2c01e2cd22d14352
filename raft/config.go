package raft

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/bftkit/bftkit/types"
)

// Config sets up one Raft node.
type Config struct {
	ID types.ValidatorIndex
	N  int
	// ElectionTicks and HeartbeatTicks are etcd raft's election timeout and
	// heartbeat interval, in ticks.
	ElectionTicks, HeartbeatTicks int
	// MaxTxs and MaxBytes bound a block's payload.
	MaxTxs, MaxBytes int
	// MaxInFlight bounds the leader's proposed but uncommitted blocks. A
	// leader proposes whatever it holds as soon as a slot is free, so more
	// slots make smaller blocks, each paying the per-block costs (fsyncs
	// and messages at every node). Two is the default: at 20,000 tx/s on
	// the 2-core benchmark machine it gave a p50 latency of 72 ms against
	// about 200 ms with 8, and saturation rose from 32,000 to 37,000 tx/s.
	MaxInFlight int
	// RetainEntries is how many applied entries stay in the log for slow
	// followers before it is compacted into a snapshot.
	RetainEntries uint64
	// RetainCommitted is how many committed blocks the engine keeps in
	// memory to serve peers catching up from a snapshot; older ones are
	// the driver's store's to serve.
	RetainCommitted uint64
	// Rand draws the randomized election timeouts (determinism.go). It is
	// required, and must be seeded by the caller: the simulator passes the
	// node's source derived from the run's seed, so that a seed replays; a
	// validator derives one from its identity (see New). There is no
	// fallback: etcd raft's own draw is crypto/rand, which nothing replays.
	Rand *rand.Rand
	// MaxSizePerMsg and MaxInflightMsgs are etcd raft's flow control.
	MaxSizePerMsg   uint64
	MaxInflightMsgs int
}

// DefaultConfig fills the tunables for node id of n. It leaves Rand nil:
// the caller must set it to a seeded source, or New refuses the Config.
func DefaultConfig(id types.ValidatorIndex, n int) Config {
	return Config{
		ID: id, N: n, ElectionTicks: 10, HeartbeatTicks: 1,
		MaxTxs: types.DefaultBlockTxs, MaxBytes: types.DefaultBlockBytes, MaxInFlight: 2, RetainEntries: 1024, RetainCommitted: 1024,
		MaxSizePerMsg: 1 << 20, MaxInflightMsgs: 256,
	}
}

// ErrNoRand is New's error for a Config without Rand.
var ErrNoRand = errors.New("raft: Config.Rand is nil; it must be a seeded source, from which the engine draws its election timeouts so that a seed replays them")

func (c *Config) check() error {
	switch {
	case c.Rand == nil:
		return ErrNoRand
	case c.N < 1 || int(c.ID) >= c.N:
		return fmt.Errorf("raft: node %d is not among %d", c.ID, c.N)
	case c.HeartbeatTicks < 1 || c.ElectionTicks <= c.HeartbeatTicks:
		return fmt.Errorf("raft: election ticks %d must exceed heartbeat ticks %d ≥ 1", c.ElectionTicks, c.HeartbeatTicks)
	case c.MaxTxs < 1 || c.MaxBytes < 1 || c.MaxInFlight < 1 || c.RetainEntries < 1 || c.RetainCommitted < 1 || c.MaxInflightMsgs < 1 || c.MaxSizePerMsg < 1:
		return errors.New("raft: payload, pipeline, retention and flow-control bounds must be positive")
	}
	return nil
}

// Quorum is Raft's majority, ⌊n/2⌋ + 1: the mode tolerates ⌊(n−1)/2⌋
// crashes (n = 2f+1), against BFT's ⌊(n−1)/3⌋ faults of any kind.
func Quorum(n int) int { return n/2 + 1 }

// raftID maps a validator index to an etcd raft node ID (which must not
// be zero), and back.
func raftID(i types.ValidatorIndex) uint64 { return uint64(i) + 1 }

func validator(id uint64) types.ValidatorIndex { return types.ValidatorIndex(id - 1) }
