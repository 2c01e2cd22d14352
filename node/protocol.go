package node

import (
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

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

// mode is a protocol the node runs: its descriptor and its Byzantine
// catalogue. Everything protocol-specific comes from these two.
type mode struct {
	describe  func() protocol.Descriptor
	byzantine protocol.Catalogue
}

var modes = map[string]mode{
	ProtocolHotStuff: {func() protocol.Descriptor { return hotstuff.Descriptor(nil) }, hotstuffbyz.Behaviours},
	ProtocolPBFT:     {func() protocol.Descriptor { return pbft.Descriptor(nil) }, pbftbyz.Behaviours},
	ProtocolRaft:     {func() protocol.Descriptor { return raft.Descriptor(nil) }, raftbyz.Behaviours},
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
