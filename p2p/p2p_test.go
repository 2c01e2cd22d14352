package p2p

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bftkit/bftkit/crypto"
	"github.com/bftkit/bftkit/types"
	"github.com/bftkit/bftkit/types/typestest"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"
)

// acceptAll decodes nothing: the test messages are strings, and "bad" ones
// are rejected, standing in for a failed signature check.
func acceptAll(from types.ValidatorIndex, ch Channel, data []byte) (any, error) {
	if strings.HasPrefix(string(data), "bad") {
		return nil, errors.New("rejected by the validator")
	}
	return string(data), nil
}

var quiet = slog.New(slog.DiscardHandler)

type cluster struct {
	peers []Peer
	keys  []*crypto.SecretKey
	nodes []*Transport
}

// newCluster starts n transports on loopback. Ports are chosen by the
// system, so node i learns the addresses of nodes below it and dials
// them; the others dial it.
func newCluster(t *testing.T, n int) *cluster {
	t.Helper()
	fx := typestest.Validators(n, 7)
	c := &cluster{keys: fx.Keys, peers: make([]Peer, n), nodes: make([]*Transport, n)}
	for i, k := range fx.Keys {
		_, id, err := Identity(k)
		require.NoError(t, err)
		c.peers[i] = Peer{Index: types.ValidatorIndex(i), ID: id}
	}
	for i := range n {
		c.start(t, i, "/ip4/127.0.0.1/tcp/0")
	}
	// A frame for a peer not yet connected is dropped, as consensus
	// tolerates; the tests want every frame, so they start connected.
	for _, tr := range c.nodes {
		require.Eventually(t, func() bool { return len(tr.ConnectedPeers()) == n-1 }, 10*time.Second, 10*time.Millisecond)
	}
	return c
}

func (c *cluster) start(t *testing.T, i int, listen string) { c.startWith(t, i, listen, nil) }

// startWith starts node i, its config adjusted by tweak (if not nil).
func (c *cluster) startWith(t *testing.T, i int, listen string, tweak func(*Config)) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ChainID, cfg.Self, cfg.Key, cfg.ListenAddr = typestest.ChainID, types.ValidatorIndex(i), c.keys[i], listen
	cfg.Peers = append([]Peer(nil), c.peers...)
	cfg.Validate = acceptAll
	cfg.Log = quiet
	cfg.DialBackoffMax = 200 * time.Millisecond
	if tweak != nil {
		tweak(&cfg)
	}
	tr, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tr.Close() })
	c.nodes[i] = tr
	addr, err := ma.NewMultiaddr(tr.ListenAddrs()[0])
	require.NoError(t, err)
	c.peers[i].Addr = addr
}

func receive(t *testing.T, tr *Transport) Inbound {
	t.Helper()
	select {
	case in := <-tr.Inbound():
		return in
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10 s")
		return Inbound{}
	}
}

func TestDirectSendReachesEveryPeerWithAuthenticatedSender(t *testing.T) {
	c := newCluster(t, 4)
	for from := range 4 {
		for to := range 4 {
			if to == from {
				continue
			}
			msg := fmt.Sprintf("%d->%d", from, to)
			require.Eventually(t, func() bool {
				return c.nodes[from].Send(types.ValidatorIndex(to), []byte(msg)) == nil
			}, 5*time.Second, 10*time.Millisecond)
		}
	}
	for to := range 4 {
		got := map[string]types.ValidatorIndex{}
		for len(got) < 3 {
			in := receive(t, c.nodes[to])
			require.Equal(t, Direct, in.Channel)
			got[in.Msg.(string)] = in.From
		}
		for from, idx := range got {
			require.Equal(t, from[:1], fmt.Sprint(idx), "sender of %q", from)
		}
	}
	require.Equal(t, uint64(3), c.nodes[0].Stats().MsgsOut[Direct])
}

func TestGossipReachesAllAndRejectedGossipIsNotDelivered(t *testing.T) {
	c := newCluster(t, 4)
	want := "proposal from 2"
	// Gossipsub needs a heartbeat to learn its peers' subscriptions, so
	// publish until it arrives, then check no one saw the bad message.
	require.NoError(t, c.nodes[2].Publish(Proposals, []byte("bad proposal")))
	for _, i := range []int{0, 1, 3} {
		deadline := time.After(10 * time.Second)
		for got := false; !got; {
			require.NoError(t, c.nodes[2].Publish(Proposals, []byte(want)))
			select {
			case in := <-c.nodes[i].Inbound():
				require.Equal(t, want, in.Msg, "a rejected message was delivered")
				require.Equal(t, types.ValidatorIndex(2), in.From)
				require.Equal(t, Proposals, in.Channel)
				got = true
			case <-time.After(200 * time.Millisecond):
			case <-deadline:
				t.Fatalf("node %d got no gossip", i)
			}
		}
	}
	require.Error(t, c.nodes[2].Publish(Direct, []byte("x")), "direct is not a topic")
}

// Every validator is connected to every other, so a gossip message must
// cross each link once: forwarding copies (as a mesh or direct peers do)
// would multiply the bytes of every proposal by up to n−1.
func TestGossipIsSentOnceToEachPeer(t *testing.T) {
	c := newCluster(t, 4)
	author, others := c.nodes[1], []int{0, 2, 3}
	// Wait until every peer has the author's subscription (a heartbeat),
	// as the test above does, then empty the inboxes.
	for _, i := range others {
		require.Eventually(t, func() bool {
			if author.Publish(Txs, []byte("warm-up")) != nil {
				return false
			}
			select {
			case <-c.nodes[i].Inbound():
				return true
			case <-time.After(100 * time.Millisecond):
				return false
			}
		}, 10*time.Second, time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	for _, i := range others {
		drain(c.nodes[i])
	}
	before := duplicates(c)

	const msgs = 20
	for k := range msgs {
		require.NoError(t, author.Publish(Txs, fmt.Appendf(nil, "batch %d", k)))
	}
	for _, i := range others {
		got := map[string]bool{}
		for len(got) < msgs {
			got[receive(t, c.nodes[i]).Msg.(string)] = true
		}
	}
	time.Sleep(300 * time.Millisecond) // forwarded copies would arrive after the first
	require.Equal(t, before, duplicates(c), "gossip copies arrived more than once")
}

func duplicates(c *cluster) uint64 {
	var sum uint64
	for _, tr := range c.nodes {
		sum += tr.Stats().GossipDuplicates
	}
	return sum
}

func drain(tr *Transport) {
	for {
		select {
		case <-tr.Inbound():
		default:
			return
		}
	}
}

func TestUnknownPeerIsRefused(t *testing.T) {
	c := newCluster(t, 4)
	outsider := crypto.DeterministicKey([]byte("outsider"), 0)
	_, oid, err := Identity(outsider)
	require.NoError(t, err)
	// The outsider runs a transport whose "validator set" includes node 0,
	// so it dials node 0 with a correct address; node 0 must refuse it.
	cfg := DefaultConfig()
	cfg.ChainID, cfg.Key, cfg.ListenAddr, cfg.Validate = typestest.ChainID, outsider, "/ip4/127.0.0.1/tcp/0", acceptAll
	cfg.Peers = []Peer{{Index: 0, ID: oid}, {Index: 1, ID: c.peers[0].ID, Addr: c.peers[0].Addr}}
	tr, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tr.Close() })
	require.Eventually(t, func() bool { return c.nodes[0].Stats().RefusedPeers > 0 }, 10*time.Second, 20*time.Millisecond)
	require.Empty(t, tr.ConnectedPeers())
	_ = tr.Send(1, []byte("hello"))
	select {
	case in := <-c.nodes[0].Inbound():
		t.Fatalf("node 0 accepted %v from an outsider", in)
	case <-time.After(300 * time.Millisecond):
	}
}

func TestOversizedFrameClosesTheStreamUndelivered(t *testing.T) {
	c := newCluster(t, 2)
	h := c.nodes[1].host
	st, err := h.NewStream(context.Background(), c.peers[0].ID, c.nodes[1].proto)
	require.NoError(t, err)
	w := bufio.NewWriter(st)
	var hdr [binary.MaxVarintLen64]byte
	w.Write(hdr[:binary.PutUvarint(hdr[:], uint64(types.MaxMessageBytes)+1)])
	w.Write([]byte("never read"))
	require.NoError(t, w.Flush())
	select {
	case in := <-c.nodes[0].Inbound():
		t.Fatalf("delivered %v from an oversized frame", in)
	case <-time.After(300 * time.Millisecond):
	}
	// The honest sender's own stream is unaffected.
	require.NoError(t, c.nodes[1].Send(0, []byte("ok")))
	require.Equal(t, "ok", receive(t, c.nodes[0]).Msg)
}

func TestRejectedDirectMessageIsCountedNotDelivered(t *testing.T) {
	c := newCluster(t, 2)
	require.NoError(t, c.nodes[1].Send(0, []byte("bad signature")))
	require.NoError(t, c.nodes[1].Send(0, []byte("good")))
	require.Equal(t, "good", receive(t, c.nodes[0]).Msg)
	require.Equal(t, uint64(1), c.nodes[0].Stats().Invalid)
}

func TestRestartedPeerIsReachedAgain(t *testing.T) {
	c := newCluster(t, 3)
	require.NoError(t, c.nodes[2].Send(0, []byte("before")))
	require.Equal(t, "before", receive(t, c.nodes[0]).Msg)
	addr := c.peers[0].Addr.String()
	require.NoError(t, c.nodes[0].Close())
	c.start(t, 0, addr) // same key, same port
	require.Eventually(t, func() bool {
		_ = c.nodes[2].Send(0, []byte("after"))
		select {
		case in := <-c.nodes[0].Inbound():
			return in.Msg == "after"
		case <-time.After(100 * time.Millisecond):
			return false
		}
	}, 15*time.Second, 10*time.Millisecond)
}

// A sender backing off from a peer that was down resumes as soon as the
// peer connects again, not after its back-off: a validator back from a
// restart stayed deaf to its peers for seconds under PBFT, long enough to
// time out alone into a view no one else entered.
func TestSenderResumesWhenThePeerReconnects(t *testing.T) {
	c := newCluster(t, 3)
	addr := c.peers[0].Addr.String()
	require.NoError(t, c.nodes[2].Close())
	c.startWith(t, 2, c.peers[2].Addr.String(), func(cfg *Config) {
		cfg.DialBackoffMin, cfg.DialBackoffMax = 5*time.Second, 10*time.Second
	})
	require.Eventually(t, func() bool { return len(c.nodes[2].ConnectedPeers()) == 2 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, c.nodes[0].Close())
	require.Eventually(t, func() bool { return len(c.nodes[2].ConnectedPeers()) == 1 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, c.nodes[2].Send(0, []byte("lost"))) // fails to open: a 5 s back-off starts
	time.Sleep(100 * time.Millisecond)
	c.start(t, 0, addr) // same key, same port; it dials node 2
	start := time.Now()
	require.Eventually(t, func() bool {
		_ = c.nodes[2].Send(0, []byte("after"))
		select {
		case in := <-c.nodes[0].Inbound():
			return in.Msg == "after"
		case <-time.After(50 * time.Millisecond):
			return false
		}
	}, 4*time.Second, 10*time.Millisecond, "still waiting out the back-off")
	t.Logf("resumed %s after the restart", time.Since(start))
}

func TestWrongKeyForGenesisPeerIDIsAnError(t *testing.T) {
	fx := typestest.Validators(4, 7)
	cfg := DefaultConfig()
	cfg.ChainID, cfg.Key, cfg.ListenAddr, cfg.Validate = typestest.ChainID, fx.Keys[1], "/ip4/127.0.0.1/tcp/0", acceptAll
	_, id0, _ := Identity(fx.Keys[0])
	_, id1, _ := Identity(fx.Keys[1])
	cfg.Peers = []Peer{{Index: 0, ID: id0}, {Index: 1, ID: id1}}
	_, err := New(cfg) // Self is 0 but the key is validator 1's
	require.ErrorContains(t, err, "genesis lists")
}

func TestIdentityIsDeterministicAndDistinct(t *testing.T) {
	fx := typestest.Validators(2, 7)
	_, a, err := Identity(fx.Keys[0])
	require.NoError(t, err)
	_, again, _ := Identity(fx.Keys[0])
	_, b, _ := Identity(fx.Keys[1])
	require.Equal(t, a, again)
	require.NotEqual(t, a, b)
	require.NoError(t, peer.ID(a).Validate())
}

// A peer that floods gets its turn, not the whole queue: with one peer's
// 500 messages already waiting, another peer's single message is among
// the first delivered.
func TestInboundIsFairAcrossPeers(t *testing.T) {
	c := newCluster(t, 3)
	for i := range 500 {
		require.NoError(t, c.nodes[1].Send(0, fmt.Appendf(nil, "flood %d", i)))
	}
	require.Eventually(t, func() bool { return c.nodes[0].Stats().MsgsIn[Direct] >= 500 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, c.nodes[2].Send(0, []byte("lone")))
	require.Eventually(t, func() bool { return c.nodes[0].Stats().MsgsIn[Direct] >= 501 }, 10*time.Second, 10*time.Millisecond)
	for k := range 4 {
		if in := receive(t, c.nodes[0]); in.Msg == "lone" {
			t.Logf("the lone message came out at position %d", k)
			return
		}
	}
	t.Fatal("the lone message waited behind the flood")
}
