package node

import (
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/bftkit/bftkit/hotstuff"
	"github.com/bftkit/bftkit/hotstuff/hotstuffbyz"
	"github.com/bftkit/bftkit/pbft"
	"github.com/bftkit/bftkit/pbft/pbftbyz"
	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/raft"
	"github.com/bftkit/bftkit/raft/raftbyz"
	"github.com/bftkit/bftkit/store"
)

// Protocols the node can run.
const (
	ProtocolHotStuff = hotstuff.Name
	ProtocolPBFT     = pbft.Name
	ProtocolRaft     = raft.Name
)

// mode is a protocol the node runs: its descriptor for a timing, and its
// Byzantine catalogue. Everything protocol-specific comes from these two.
type mode struct {
	describe  func(timing) protocol.Descriptor
	byzantine protocol.Catalogue
}

// timing is the view timeout and its cap in ticks; zero keeps the
// engine's default.
type timing struct{ base, max int }

var modes = map[string]mode{
	ProtocolHotStuff: {func(t timing) protocol.Descriptor {
		return hotstuff.Descriptor(func(c *hotstuff.Config) {
			c.BaseTimeoutTicks, c.MaxTimeoutTicks = orDefault(t.base, c.BaseTimeoutTicks), orDefault(t.max, c.MaxTimeoutTicks)
		})
	}, hotstuffbyz.Behaviours},
	ProtocolPBFT: {func(t timing) protocol.Descriptor {
		return pbft.Descriptor(func(c *pbft.Config) {
			c.ViewChangeTicks, c.MaxViewChangeTicks = orDefault(t.base, c.ViewChangeTicks), orDefault(t.max, c.MaxViewChangeTicks)
		})
	}, pbftbyz.Behaviours},
	ProtocolRaft: {func(t timing) protocol.Descriptor {
		return raft.Descriptor(func(c *raft.Config) { c.ElectionTicks = orDefault(t.base, c.ElectionTicks) })
	}, raftbyz.Behaviours},
}

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// DefaultViewTimeout is a protocol's view timeout when the configuration
// leaves it at zero. Short enough that a crashed leader costs well under
// a second (HotStuff pays it twice: the crashed leader's view and the one
// before, whose votes it was to aggregate), and many times a view's
// length on a loaded four-validator testnet (about 20 ms at 5,000 tx/s,
// 100 ms at saturation); HotStuff also stretches it to four times the
// slowest recent view.
func DefaultViewTimeout(protocol string) time.Duration {
	switch protocol {
	case ProtocolHotStuff:
		return 300 * time.Millisecond
	case ProtocolPBFT, ProtocolRaft:
		return 500 * time.Millisecond
	}
	return 0
}

// timingOf converts the configured timeouts to ticks, rounding up. A cap
// below the base is the engine's to refuse.
func timingOf(cfg *Config) timing {
	ticks := func(d time.Duration) int {
		if d <= 0 {
			return 0
		}
		return int((d + cfg.TickInterval - 1) / cfg.TickInterval)
	}
	base := cfg.ViewTimeout
	if base == 0 {
		base = DefaultViewTimeout(cfg.Protocol)
	}
	t := timing{base: ticks(base), max: ticks(cfg.MaxViewTimeout)}
	if t.base > 0 && t.max == 0 {
		t.max = 16 * t.base // the engines' own ratio
	}
	return t
}

// Protocols lists the protocols a node runs, sorted.
func Protocols() []string {
	names := make([]string, 0, len(modes))
	for name := range modes {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func lookupMode(name string) (mode, error) {
	m, ok := modes[name]
	if !ok {
		return mode{}, fmt.Errorf("node: protocol %q is not supported (supported: %s)", name, strings.Join(Protocols(), ", "))
	}
	return m, nil
}

// ByzantineBehaviours lists the behaviours a node of protocol can run.
func ByzantineBehaviours(name string) []string {
	m, err := lookupMode(name)
	if err != nil {
		return nil
	}
	return m.byzantine.Names()
}

// newEngine restores the engine from the store, wrapped in the configured
// Byzantine behaviour if there is one.
func newEngine(cfg *Config, desc *protocol.Descriptor, byz protocol.Catalogue, r store.Restored, st *store.Store) (protocol.Engine, error) {
	env := protocol.Env{
		ID: cfg.Self, N: cfg.Set.N(), ChainID: cfg.Genesis.ChainID,
		// An engine's randomness (Raft's election timeouts) needs to
		// differ between validators and restarts, not to replay: a real
		// validator is not a seeded run.
		Rand:   rand.New(rand.NewPCG(randomSeed(), randomSeed())),
		Signer: qc.NewBLSSigner(cfg.Key), Scheme: qc.NewBLSScheme(cfg.Set),
		Restored: protocol.Restored{
			SafetyState: r.SafetyState, Blocks: r.Pending, Committed: r.Committed, Lookup: st.BlockByID,
		},
		RetainCommitted: cfg.RetainCommitted,
	}
	e, err := desc.New(env)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	if cfg.Byzantine == "" {
		return e, nil
	}
	b, err := byz.Lookup(cfg.Byzantine)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	// Misbehaviour is deterministic per validator, so experiments repeat.
	env.Rand = rand.New(rand.NewPCG(uint64(cfg.Self), 0x6279))
	return b(e, env), nil
}

func randomSeed() uint64 {
	var b [8]byte
	if _, err := crand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("node: the system's random source failed: %v", err)) // crypto/rand does not fail on Linux
	}
	return binary.LittleEndian.Uint64(b[:])
}

// checkTiming checks that an idle leader's wait fits the protocol's
// timeouts.
func checkTiming(cfg *Config, desc *protocol.Descriptor) error {
	if desc.CheckTiming == nil {
		return nil
	}
	idleTicks := float64(cfg.EmptyBlockInterval) / float64(cfg.TickInterval)
	if err := desc.CheckTiming(idleTicks); err != nil {
		return fmt.Errorf("node: empty block interval %s at a %s tick: %w (consensus.empty_block_interval must be shorter)",
			cfg.EmptyBlockInterval, cfg.TickInterval, err)
	}
	return nil
}
