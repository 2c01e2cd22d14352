package p2p

import (
	"log/slog"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// gater admits connections only with the validator set's peers. Inbound
// connections are judged in InterceptSecured, the first point at which the
// remote peer ID is authenticated (by the Noise handshake).
type gater struct {
	allowed map[peer.ID]bool
	log     *slog.Logger
	refused atomic.Uint64
}

func (g *gater) InterceptPeerDial(p peer.ID) bool { return g.allowed[p] }

func (g *gater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return g.allowed[p] }

func (g *gater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

func (g *gater) InterceptSecured(dir network.Direction, p peer.ID, addrs network.ConnMultiaddrs) bool {
	if g.allowed[p] {
		return true
	}
	// Logging every refusal would let an outsider fill the log; the
	// counter always moves, the log line only for the first few.
	if n := g.refused.Add(1); n <= 16 || n&(n-1) == 0 {
		g.log.Warn("refused a peer outside the validator set",
			"peer", p, "remote", addrs.RemoteMultiaddr(), "direction", dir, "refused_total", n)
	}
	return false
}

func (g *gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }
