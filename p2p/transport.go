package p2p

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/bftkit/bftkit/types"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

// Inbound is a message a peer sent, accepted by the Validator.
type Inbound struct {
	From    types.ValidatorIndex
	Channel Channel
	Msg     any
}

// Transport is one validator's libp2p host with its streams and topics.
// All methods are safe for concurrent use.
type Transport struct {
	cfg     Config
	log     *slog.Logger
	host    host.Host
	gater   *gater
	proto   protocol.ID
	byID    map[peer.ID]types.ValidatorIndex
	senders []*sender // by validator index; nil for self
	gossip  *gossip
	inbound chan Inbound
	// fromPeer holds each peer's validated messages until the merger
	// moves them to inbound, one peer at a time in turn: a peer that
	// floods (with valid but useless messages) fills only its own queue
	// and gets only its share of the node's attention.
	fromPeer []chan Inbound
	pending  chan struct{} // wakes the merger
	stats    counters

	inboundMu      sync.Mutex
	inboundStreams map[types.ValidatorIndex]network.Stream

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New starts the host, listens, and begins dialling the other validators.
func New(cfg Config) (*Transport, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "p2p")
	priv, self, err := Identity(cfg.Key)
	if err != nil {
		return nil, err
	}
	if want := cfg.Peers[cfg.Self].ID; want != self {
		return nil, fmt.Errorf("p2p: this node's key gives peer ID %s, but genesis lists %s for validator %d", self, want, cfg.Self)
	}
	t := &Transport{
		cfg: cfg, log: log,
		proto:   protocol.ID("/bftkit/" + cfg.ChainID + "/consensus/1"),
		byID:    make(map[peer.ID]types.ValidatorIndex, len(cfg.Peers)),
		inbound: make(chan Inbound, 1),
		pending: make(chan struct{}, 1),

		inboundStreams: make(map[types.ValidatorIndex]network.Stream),
	}
	t.gater = &gater{allowed: make(map[peer.ID]bool, len(cfg.Peers)), log: log}
	for _, p := range cfg.Peers {
		t.byID[p.ID] = p.Index
		t.gater.allowed[p.ID] = true
	}
	h, err := libp2p.New(
		libp2p.Identity(priv),
		libp2p.ListenAddrStrings(cfg.ListenAddr),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ConnectionGater(t.gater),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(), // bftkit exports its own; libp2p's would clash between hosts in one process
		libp2p.Ping(false),
	)
	if err != nil {
		return nil, fmt.Errorf("p2p: listen on %s: %w", cfg.ListenAddr, err)
	}
	t.host = h
	t.ctx, t.cancel = context.WithCancel(context.Background())
	h.SetStreamHandler(t.proto, t.handleStream)
	t.fromPeer = make([]chan Inbound, len(cfg.Peers))
	for i := range t.fromPeer {
		t.fromPeer[i] = make(chan Inbound, max(cfg.InboundQueue/len(cfg.Peers), 64))
	}
	t.wg.Add(1)
	go t.mergeInbound()
	t.senders = make([]*sender, len(cfg.Peers))
	for _, p := range cfg.Peers {
		if p.Index == cfg.Self {
			continue
		}
		s := newSender(t, p)
		t.senders[p.Index] = s
		t.wg.Add(1)
		go s.run()
		if p.Addr != nil {
			h.Peerstore().AddAddr(p.ID, p.Addr, peerstoreForever)
			t.wg.Add(1)
			go t.keepConnected(p)
		}
	}
	// Registered once every sender exists: the callback reads t.senders.
	h.Network().Notify(&network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) { t.peerConnected(c.RemotePeer()) }})
	g, err := startGossip(t)
	if err != nil {
		t.Close()
		return nil, err
	}
	t.gossip = g
	return t, nil
}

// ListenAddrs are the addresses the host listens on, with the port the
// system chose for ":0".
func (t *Transport) ListenAddrs() []string {
	var out []string
	for _, a := range t.host.Addrs() {
		out = append(out, a.String())
	}
	return out
}

// PeerID is this host's peer ID.
func (t *Transport) PeerID() peer.ID { return t.host.ID() }

// Inbound delivers validated messages. It is never closed: after Close,
// nothing more arrives.
func (t *Transport) Inbound() <-chan Inbound { return t.inbound }

// ConnectedPeers lists the validators this host is connected to.
func (t *Transport) ConnectedPeers() []types.ValidatorIndex {
	var out []types.ValidatorIndex
	for _, p := range t.cfg.Peers {
		if p.Index != t.cfg.Self && t.host.Network().Connectedness(p.ID) == network.Connected {
			out = append(out, p.Index)
		}
	}
	return out
}

// Stats returns a snapshot of the counters.
func (t *Transport) Stats() Stats {
	s := t.stats.snapshot()
	s.RefusedPeers = t.gater.refused.Load()
	return s
}

// Close stops every goroutine and the host. Messages still queued are
// dropped: the engines tolerate loss, and the node persisted what matters
// before sending.
func (t *Transport) Close() error {
	t.cancel()
	err := t.host.Close()
	t.wg.Wait()
	return err
}

// deliver queues a validated message from its peer, waiting while that
// peer's queue is full (back-pressure on that peer's stream or gossip
// only) until shutdown.
func (t *Transport) deliver(in Inbound) {
	select {
	case t.fromPeer[in.From] <- in:
	case <-t.ctx.Done():
		t.stats.droppedInbound.Add(1)
		return
	}
	select {
	case t.pending <- struct{}{}:
	default:
	}
}

// mergeInbound moves messages from the per-peer queues to Inbound, taking
// at most one from each peer per pass.
func (t *Transport) mergeInbound() {
	defer t.wg.Done()
	for {
		moved := false
		for _, q := range t.fromPeer {
			select {
			case in := <-q:
				moved = true
				select {
				case t.inbound <- in:
				case <-t.ctx.Done():
					return
				}
			default:
			}
		}
		if moved {
			continue
		}
		select {
		case <-t.pending:
		case <-t.ctx.Done():
			return
		}
	}
}
