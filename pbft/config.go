package pbft

import (
	"errors"
	"fmt"

	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// Config sets up one replica.
type Config struct {
	ID      types.ValidatorIndex
	N       int
	ChainID string
	Signer  qc.Signer
	Scheme  qc.Scheme

	// CheckpointInterval is K: a checkpoint every K sequence numbers.
	// WindowSize is L, the watermark window (H = h + L); L ≥ 2K so that
	// the primary can go on while a checkpoint becomes stable (§4.3).
	CheckpointInterval, WindowSize uint64
	// MaxInFlight bounds the blocks a primary has assigned but not yet
	// executed: the pipeline depth. Deeper is not faster under light load:
	// the primary proposes as soon as any transaction arrives, so a deep
	// pipeline fills with small blocks and later transactions wait for a
	// slot. In the node at 2,000 tx/s, p50 fell from 377 ms at 8 to 119 ms
	// at 2, with the same saturation throughput; with 4,000-transaction
	// blocks, one in flight did better again than two (p50 at 20,000 tx/s
	// 150 ms against 245 ms; 75 ms against 102 ms at 2,000 tx/s; the same
	// saturation, about 27,000 tx/s).
	MaxInFlight int
	// ViewChangeTicks is T: a replica that executes nothing for T ticks
	// starts a view change; each successive view change doubles it
	// (§4.5.2), up to MaxViewChangeTicks.
	ViewChangeTicks, MaxViewChangeTicks int
	// ResendTicks is how long a message that got no answer waits before it
	// is sent again (pre-prepares, prepares and commits of pending numbers,
	// the last checkpoint, the view-change, fetches). Links lose messages;
	// PBFT assumes retransmission (§4.5).
	ResendTicks int
	// MaxTxs and MaxBytes bound a block's payload.
	MaxTxs, MaxBytes int
	// RetainCommitted is how many committed blocks the engine keeps in
	// memory to serve lagging peers; older ones are the driver's store's.
	RetainCommitted uint64
	// MaxFetchAhead bounds the committed blocks a lagging replica buffers
	// beyond the next one it can execute.
	MaxFetchAhead uint64
	// Rules are the protocol's counting and checking rules; the zero value
	// is the paper's. Canary tests break one on purpose.
	Rules Rules
}

// DefaultConfig fills the tunables for replica id of n. The window is 64
// numbers with a checkpoint every 16, or less where n is so large that a
// new-view over 64 numbers would not fit in one message (MaxWindow).
func DefaultConfig(id types.ValidatorIndex, n int, chainID string, signer qc.Signer, scheme qc.Scheme) Config {
	window := min(64, MaxWindow(n))
	return Config{
		ID: id, N: n, ChainID: chainID, Signer: signer, Scheme: scheme,
		CheckpointInterval: max(window/4, 1), WindowSize: window, MaxInFlight: 1,
		ViewChangeTicks: 20, MaxViewChangeTicks: 320, ResendTicks: 10,
		MaxTxs: types.DefaultBlockTxs, MaxBytes: types.DefaultBlockBytes, RetainCommitted: 1024, MaxFetchAhead: 256,
	}
}

func (c *Config) check() error {
	switch {
	case c.N < 2:
		return errors.New("pbft: n = 1 cannot prepare (2f prepares from other replicas are needed, and there are none); run at least 2")
	case int(c.ID) >= c.N:
		return fmt.Errorf("pbft: replica %d is not among %d", c.ID, c.N)
	case c.Signer == nil || c.Scheme == nil:
		return errors.New("pbft: a signer and a scheme are required")
	case c.CheckpointInterval < 1 || c.WindowSize < 2*c.CheckpointInterval || c.WindowSize > types.MaxPBFTWindow:
		return fmt.Errorf("pbft: window L = %d must be at least 2K = %d and at most %d", c.WindowSize, 2*c.CheckpointInterval, types.MaxPBFTWindow)
	case NewViewBound(c.N, c.WindowSize) > types.MaxMessageBytes:
		return fmt.Errorf("pbft: window L = %d is too large for n = %d: a new-view could reach %d bytes, above the %d-byte message limit (use L ≤ %d)",
			c.WindowSize, c.N, NewViewBound(c.N, c.WindowSize), types.MaxMessageBytes, MaxWindow(c.N))
	case c.MaxInFlight < 1:
		return errors.New("pbft: MaxInFlight must be positive")
	case c.ViewChangeTicks < 1 || c.MaxViewChangeTicks < c.ViewChangeTicks || c.ResendTicks < 1:
		return fmt.Errorf("pbft: timeouts %d..%d ticks (resend %d) are not a range", c.ViewChangeTicks, c.MaxViewChangeTicks, c.ResendTicks)
	case c.MaxTxs < 1 || c.MaxBytes < 1 || c.RetainCommitted < c.WindowSize || c.MaxFetchAhead < types.MaxBlockRequestAncestors:
		return errors.New("pbft: payload, retention and fetch bounds must be positive (retention at least L)")
	}
	return nil
}

// faults is f, the most Byzantine replicas n tolerates; quorum is the
// verifier's ⌊2n/3⌋+1, which is 2f+1 when n = 3f+1 and keeps any two
// quorums intersecting in an honest replica for every n.
func faults(n int) int { return (n - 1) / 3 }
func quorum(n int) int { return types.QuorumSize(n) }

// NewViewBound is an upper bound on the encoded size of a new-view for n
// replicas and window L: 2f+1 view-changes, each with L prepared
// certificates of 2f individual signatures, plus O. PBFT certificates are
// lists of signatures, so this grows as n²·L.
func NewViewBound(n int, window uint64) int {
	q := quorum(n)
	const sig, digest, header = 96 + 2, 32 + 2, 64 // bytes with framing; header covers numbers and tags
	cert := header + digest + q*(sig+2)            // a certificate of up to q signatures
	prepared := header + digest + sig + cert       // PBFTPrepared: pre-prepare signature and prepares
	viewChange := header + cert + int(window)*prepared + sig
	order := header + digest + sig
	return header + q*(viewChange+8) + int(window)*order + sig + 64 // envelope
}

// MaxWindow is the largest window L (at most types.MaxPBFTWindow) whose
// new-view fits in one message at n replicas.
func MaxWindow(n int) uint64 {
	lo, hi := uint64(0), uint64(types.MaxPBFTWindow)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if NewViewBound(n, mid) <= types.MaxMessageBytes {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}
