package p2p

import (
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// keepConnected dials p whenever it is not connected, backing off
// exponentially while it stays unreachable, so a restarted validator is
// found again without flooding a dead address with dials.
func (t *Transport) keepConnected(p Peer) {
	defer t.wg.Done()
	backoff := t.cfg.DialBackoffMin
	for {
		if t.host.Network().Connectedness(p.ID) != network.Connected {
			ctx, cancel := context.WithTimeout(t.ctx, t.cfg.DialTimeout)
			err := t.host.Connect(ctx, peer.AddrInfo{ID: p.ID, Addrs: []ma.Multiaddr{p.Addr}})
			cancel()
			if err != nil {
				t.log.Debug("dial failed", "peer", p.Index, "err", err, "retry_in", backoff)
				backoff = min(2*backoff, t.cfg.DialBackoffMax)
			} else {
				t.log.Info("connected", "peer", p.Index)
				backoff = t.cfg.DialBackoffMin
			}
		}
		select {
		case <-t.ctx.Done():
			return
		case <-time.After(backoff):
		}
	}
}
