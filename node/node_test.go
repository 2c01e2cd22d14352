package node

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bftkit/bftkit/api"
	"github.com/bftkit/bftkit/app"
	"github.com/bftkit/bftkit/crypto"
	"github.com/bftkit/bftkit/p2p"
	"github.com/bftkit/bftkit/types"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func post(t testing.TB, n *Node, path, body string) (int, api.TxResponse) {
	t.Helper()
	res, err := http.Post("http://"+n.HTTPAddr()+path, "application/octet-stream", strings.NewReader(body))
	require.NoError(t, err)
	defer res.Body.Close()
	var out api.TxResponse
	data, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(data, &out)
	return res.StatusCode, out
}

func get(t testing.TB, n *Node, path string) (int, []byte) {
	t.Helper()
	res, err := http.Get("http://" + n.HTTPAddr() + path)
	require.NoError(t, err)
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, data
}

func query(t testing.TB, n *Node, key string) (int, api.QueryResponse) {
	code, data := get(t, n, "/query?key="+url.QueryEscape(key))
	var q api.QueryResponse
	_ = json.Unmarshal(data, &q)
	return code, q
}

// submit sends count key=value txs round-robin to the running nodes.
func (c *cluster) submit(prefix string, count int) {
	c.t.Helper()
	var running []*Node
	for _, n := range c.nodes {
		if n != nil {
			running = append(running, n)
		}
	}
	for i := range count {
		code, res := post(c.t, running[i%len(running)], "/tx?mode=sync", fmt.Sprintf("%s%d=v%d", prefix, i, i))
		require.Equal(c.t, http.StatusOK, code, "tx %d: %+v", i, res)
	}
}

// waitKeys waits until every running node answers every key.
func (c *cluster) waitKeys(prefix string, count int, within time.Duration) {
	c.t.Helper()
	found := func() bool {
		for _, n := range c.nodes {
			if n == nil {
				continue
			}
			for i := range count {
				if code, q := query(c.t, n, fmt.Sprintf("%s%d", prefix, i)); code != http.StatusOK || q.Value != fmt.Sprintf("v%d", i) {
					return false
				}
			}
		}
		return true
	}
	if !assert.Eventually(c.t, found, within, 50*time.Millisecond) {
		c.t.Fatalf("keys %s0..%d not on every node; heights at the end %v", prefix, count-1, c.heights())
	}
}

func TestFourValidatorsCommitTransactionsWithIdenticalAppHashes(t *testing.T) {
	for _, protocol := range []string{ProtocolHotStuff, ProtocolPBFT, ProtocolRaft} {
		t.Run(protocol, func(t *testing.T) {
			c := newProtocolCluster(t, protocol, 4)
			c.submit("k", 200)
			code, res := post(t, c.nodes[1], "/tx?mode=commit&timeout=30s", "final=yes")
			require.Equal(t, http.StatusOK, code, "%+v", res)
			require.Equal(t, "committed", res.Status)
			require.NotZero(t, res.Height)
			c.waitKeys("k", 200, 30*time.Second)
			h := c.nodes[0].Status().AppHeight
			c.waitHeight(h, 10*time.Second)
			c.requireAgreement(h)
			want := map[string]int{ProtocolHotStuff: 3, ProtocolPBFT: 3, ProtocolRaft: 3}[protocol] // n = 4
			require.Equal(t, want, c.nodes[0].Status().Quorum)
		})
	}
}

// A validator stopped while the others go on catches up after a restart:
// HotStuff by fetching blocks, PBFT by state transfer from the others'
// stores (it is down for more than a checkpoint interval, K = 16), Raft
// from the leader's log.
func TestStoppedValidatorCatchesUpAfterRestart(t *testing.T) {
	for protocol, gap := range map[string]uint64{ProtocolHotStuff: 10, ProtocolPBFT: 20, ProtocolRaft: 10} {
		t.Run(protocol, func(t *testing.T) {
			c := newProtocolCluster(t, protocol, 4)
			c.submit("a", 50)
			c.waitKeys("a", 50, 30*time.Second)
			c.stop(3)
			before := c.nodes[0].Status().AppHeight
			c.submit("b", 50)
			c.waitKeys("b", 50, 30*time.Second) // three validators are a quorum
			c.waitHeight(before+gap, 30*time.Second)
			c.start(3)
			target := c.nodes[0].Status().AppHeight
			c.waitHeight(target, 60*time.Second)
			c.waitKeys("b", 50, 30*time.Second)
			c.requireAgreement(target)
		})
	}
}

func TestCorruptBlockStoreRefusesToStart(t *testing.T) {
	c := newCluster(t, 4)
	c.waitHeight(3, 30*time.Second)
	c.stop(2)
	dir := filepath.Join(c.dirs[2], "blocks")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries { // garbage over LevelDB's manifest and tables
		if strings.HasPrefix(e.Name(), "MANIFEST") || strings.HasSuffix(e.Name(), ".ldb") || strings.HasSuffix(e.Name(), ".log") {
			require.NoError(t, os.WriteFile(filepath.Join(dir, e.Name()), []byte("not a leveldb file"), 0o600))
		}
	}
	kv, err := app.NewKVStore(filepath.Join(c.dirs[2], "app"))
	require.NoError(t, err)
	defer kv.Close()
	cfg := c.config(2)
	cfg.App = kv
	_, err = New(cfg)
	require.Error(t, err)
	require.Contains(t, err.Error(), dir, "the error names the database")
	require.Contains(t, err.Error(), "corrupt")
}

func TestHTTPRejectsMalformedInputWith4xx(t *testing.T) {
	c := newCluster(t, 4)
	n := c.nodes[0]
	big := strings.Repeat("x", n.cfg.Mempool.MaxTxBytes+1)
	for _, tc := range []struct {
		name, method, path, body string
		want                     int
	}{
		{"unknown mode", "POST", "/tx?mode=eventually", "a=1", http.StatusBadRequest},
		{"bad timeout", "POST", "/tx?mode=commit&timeout=forever", "a=1", http.StatusBadRequest},
		{"timeout too long", "POST", "/tx?mode=commit&timeout=1h", "a=1", http.StatusBadRequest},
		{"empty tx", "POST", "/tx", "", http.StatusBadRequest},
		{"tx too large", "POST", "/tx", big, http.StatusRequestEntityTooLarge},
		{"app rejects tx", "POST", "/tx", "no-equals-sign", http.StatusUnprocessableEntity},
		{"GET on /tx", "GET", "/tx", "", http.StatusMethodNotAllowed},
		{"bad tx hash", "GET", "/tx/xyz", "", http.StatusBadRequest},
		{"unknown tx hash", "GET", "/tx/" + strings.Repeat("ab", 32), "", http.StatusNotFound},
		{"height not a number", "GET", "/block/ten", "", http.StatusBadRequest},
		{"height zero", "GET", "/block/0", "", http.StatusBadRequest},
		{"height in the future", "GET", "/block/999999999", "", http.StatusNotFound},
		{"query without key", "GET", "/query", "", http.StatusBadRequest},
		{"query missing key", "GET", "/query?key=nobody", "", http.StatusNotFound},
		{"unknown path", "GET", "/nothing", "", http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, "http://"+n.HTTPAddr()+tc.path, strings.NewReader(tc.body))
			require.NoError(t, err)
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			require.Equal(t, tc.want, res.StatusCode, "body: %s", body)
			if res.StatusCode != http.StatusMethodNotAllowed && res.StatusCode != http.StatusNotFound || strings.HasPrefix(tc.path, "/tx/") {
				require.Contains(t, string(body), `"`, "a JSON explanation")
			}
		})
	}
	// The well-formed requests work, for contrast.
	code, res := post(t, n, "/tx?mode=commit&timeout=30s", "hello=world")
	require.Equal(t, http.StatusOK, code, "%+v", res)
	code, q := query(t, n, "hello")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "world", q.Value)
	code, _ = post(t, n, "/tx", "hello=world")
	require.Equal(t, http.StatusConflict, code, "a committed tx is a duplicate")
	code, body := get(t, n, fmt.Sprintf("/block/%d", res.Height))
	require.Equal(t, http.StatusOK, code)
	var b api.BlockResponse
	require.NoError(t, json.Unmarshal(body, &b))
	require.Contains(t, b.Txs, []byte("hello=world"))
	code, body = get(t, n, "/validators")
	require.Equal(t, http.StatusOK, code)
	var vals []api.ValidatorInfo
	require.NoError(t, json.Unmarshal(body, &vals))
	require.Len(t, vals, 4)
	code, body = get(t, n, "/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(body), "bftkit_height")
}

func TestUnknownPeerIsRefusedAndCounted(t *testing.T) {
	c := newCluster(t, 4)
	outsider := crypto.DeterministicKey([]byte("not a validator"), 0)
	_, oid, err := p2p.Identity(outsider)
	require.NoError(t, err)
	target, err := peer.Decode(c.genesis.Validators[0].PeerID)
	require.NoError(t, err)
	addr, err := ma.NewMultiaddr(c.genesis.Validators[0].Address)
	require.NoError(t, err)
	// The outsider believes it is validator 0 of a set holding node 0.
	pc := p2p.DefaultConfig()
	pc.ChainID, pc.Key, pc.ListenAddr, pc.Log = c.genesis.ChainID, outsider, "/ip4/127.0.0.1/tcp/0", testLogger()
	pc.Validate = func(types.ValidatorIndex, p2p.Channel, []byte) (any, error) { return nil, nil }
	pc.Peers = []p2p.Peer{{Index: 0, ID: oid}, {Index: 1, ID: target, Addr: addr}}
	tr, err := p2p.New(pc)
	require.NoError(t, err)
	defer tr.Close()
	require.Eventually(t, func() bool { return metricValue(t, c.nodes[0], "bftkit_p2p_refused_peers_total") > 0 },
		10*time.Second, 50*time.Millisecond)
	require.Empty(t, tr.ConnectedPeers())
	require.Eventually(t, func() bool { return len(c.nodes[0].net.ConnectedPeers()) == 3 }, 10*time.Second, 20*time.Millisecond,
		"the validators stay connected")
}

// metricValue reads one unlabelled series from the node's /metrics.
func metricValue(t testing.TB, n *Node, name string) float64 {
	_, body := get(t, n, "/metrics")
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			_, err := fmt.Sscan(v, &f)
			require.NoError(t, err)
			return f
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
