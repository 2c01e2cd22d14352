package node

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bftkit/bftkit/app"
	"github.com/bftkit/bftkit/internal/ports"
	"github.com/bftkit/bftkit/types"
	"github.com/bftkit/bftkit/types/typestest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cluster runs n validators in this test process, over real libp2p on
// loopback with real LevelDB stores and kvstore apps.
type cluster struct {
	t        testing.TB
	protocol string
	genesis  *types.Genesis
	set      *types.ValidatorSet
	dirs     []string
	nodes    []*Node
	apps     []*app.KVStore
	// tweak, if set, adjusts each validator's configuration before it
	// starts.
	tweak func(i int, cfg *Config)
}

// newCluster starts n HotStuff validators; observers[i], if given,
// observes validator i.
func newCluster(t testing.TB, n int, observers ...Observer) *cluster {
	t.Helper()
	return newProtocolCluster(t, ProtocolHotStuff, n, observers...)
}

// newProtocolCluster starts n validators running protocol.
func newProtocolCluster(t testing.TB, protocol string, n int, observers ...Observer) *cluster {
	t.Helper()
	return newTweakedCluster(t, protocol, n, nil, observers...)
}

// newTweakedCluster starts n validators running protocol, each with its
// configuration adjusted by tweak (if not nil).
func newTweakedCluster(t testing.TB, protocol string, n int, tweak func(int, *Config), observers ...Observer) *cluster {
	t.Helper()
	fx := typestest.Validators(n, 11)
	addrs := make([]string, n)
	for i, port := range freePorts(t, n) {
		addrs[i] = fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)
	}
	g, vs, err := NewGenesis(typestest.ChainID, fx.Keys, addrs)
	require.NoError(t, err)
	c := &cluster{t: t, protocol: protocol, genesis: g, set: vs, dirs: make([]string, n), nodes: make([]*Node, n), apps: make([]*app.KVStore, n), tweak: tweak}
	for i := range n {
		c.dirs[i] = t.TempDir()
		var obs Observer
		if i < len(observers) {
			obs = observers[i]
		}
		c.startObserved(i, obs)
	}
	t.Cleanup(func() {
		for i := range c.nodes {
			c.stop(i)
		}
	})
	return c
}

// freePorts returns n free loopback ports below the ephemeral range (see
// internal/ports for why not port 0).
func freePorts(t testing.TB, n int) []int {
	ps, err := ports.Free(n)
	require.NoError(t, err)
	return ps
}

// validatorConfig is the test configuration of validator i of genesis g,
// keeping its data under dir.
func validatorConfig(protocol string, g *types.Genesis, vs *types.ValidatorSet, i int, dir string) Config {
	cfg := DefaultConfig()
	cfg.Protocol = protocol
	cfg.Genesis, cfg.Set, cfg.Self = g, vs, types.ValidatorIndex(i)
	cfg.Key = typestest.Validators(vs.N(), 11).Keys[i]
	cfg.DataDir = filepath.Join(dir, "blocks")
	cfg.P2PListen = g.Validators[i].Address
	cfg.HTTPListen = "127.0.0.1:0"
	cfg.TickInterval = 20 * time.Millisecond
	cfg.EmptyBlockInterval = 100 * time.Millisecond // below half HotStuff's view timeout
	cfg.Log = testLogger()
	return cfg
}

// startValidator opens validator i's kvstore and starts its node.
func startValidator(protocol string, g *types.Genesis, vs *types.ValidatorSet, i int, dir string, obs Observer, tweak func(int, *Config)) (*Node, *app.KVStore, error) {
	kv, err := app.NewKVStore(filepath.Join(dir, "app"))
	if err != nil {
		return nil, nil, err
	}
	cfg := validatorConfig(protocol, g, vs, i, dir)
	cfg.App, cfg.Observe = kv, obs
	if tweak != nil {
		tweak(i, &cfg)
	}
	n, err := New(cfg)
	if err != nil {
		kv.Close()
		return nil, nil, err
	}
	n.Start()
	return n, kv, nil
}

func (c *cluster) config(i int) Config {
	return validatorConfig(c.protocol, c.genesis, c.set, i, c.dirs[i])
}

func testLogger() *slog.Logger {
	if os.Getenv("BFTKIT_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func (c *cluster) start(i int) { c.startObserved(i, nil) }

func (c *cluster) startObserved(i int, obs Observer) {
	c.t.Helper()
	n, kv, err := startValidator(c.protocol, c.genesis, c.set, i, c.dirs[i], obs, c.tweak)
	require.NoError(c.t, err)
	c.nodes[i], c.apps[i] = n, kv
}

func (c *cluster) stop(i int) {
	if c.nodes[i] == nil {
		return
	}
	require.NoError(c.t, c.nodes[i].Stop())
	require.NoError(c.t, c.apps[i].Close())
	c.nodes[i], c.apps[i] = nil, nil
}

// waitHeight waits until every running node's application reached h.
func (c *cluster) waitHeight(h uint64, within time.Duration) {
	c.t.Helper()
	reached := func() bool {
		for _, n := range c.nodes {
			if n != nil && n.Status().AppHeight < h {
				return false
			}
		}
		return true
	}
	if !assert.Eventually(c.t, reached, within, 20*time.Millisecond) {
		// The heights at the end of the wait, not at its start.
		c.t.Fatalf("not every node reached height %d: %v", h, c.heights())
	}
}

func (c *cluster) heights() []uint64 {
	var hs []uint64
	for _, n := range c.nodes {
		if n != nil {
			hs = append(hs, n.Status().AppHeight)
		}
	}
	return hs
}

// requireAgreement checks that every running node has the same block ID
// and app hash at each height from 1 to h.
func (c *cluster) requireAgreement(h uint64) {
	c.t.Helper()
	var ref *Node
	for _, n := range c.nodes {
		if n == nil {
			continue
		}
		if ref == nil {
			ref = n
			continue
		}
		for height := uint64(1); height <= h; height++ {
			want, err := ref.store.CommittedID(height)
			require.NoError(c.t, err)
			got, err := n.store.CommittedID(height)
			require.NoError(c.t, err)
			require.Equal(c.t, want, got, "block at height %d", height)
			wantHash, ok1 := ref.AppHashAt(height)
			gotHash, ok2 := n.AppHashAt(height)
			if ok1 && ok2 {
				require.Equal(c.t, wantHash, gotHash, "app hash at height %d", height)
			}
		}
	}
}
