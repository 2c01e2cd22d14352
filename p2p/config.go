package p2p

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/bftkit/bftkit/crypto"
	"github.com/bftkit/bftkit/types"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Channel says how a message travelled.
type Channel uint8

const (
	// Direct is a point-to-point stream.
	Direct Channel = iota
	// Proposals is the gossip topic for block proposals.
	Proposals
	// Txs is the gossip topic for transaction batches.
	Txs
	numChannels
)

func (c Channel) String() string {
	switch c {
	case Direct:
		return "direct"
	case Proposals:
		return "proposals"
	case Txs:
		return "txs"
	}
	return fmt.Sprintf("channel(%d)", uint8(c))
}

// Validator decodes and verifies one inbound message that peer sent (for
// gossip: published; the relay does not matter) on ch. It returns what
// Inbound delivers, or an error: the message is then dropped and, for
// gossip, not relayed. It is called from many goroutines at once; the
// node bounds the crypto work inside it.
type Validator func(from types.ValidatorIndex, ch Channel, data []byte) (any, error)

// Peer is one validator's network identity, from genesis.
type Peer struct {
	Index types.ValidatorIndex
	ID    peer.ID
	// Addr is where to dial it; nil if unknown (it will dial us).
	Addr ma.Multiaddr
}

// Config sets up a Transport.
type Config struct {
	ChainID string
	Self    types.ValidatorIndex
	Key     *crypto.SecretKey
	// ListenAddr is a multiaddr such as /ip4/127.0.0.1/tcp/26656.
	ListenAddr string
	// Peers lists every validator, this one included.
	Peers    []Peer
	Validate Validator
	Log      *slog.Logger

	// MaxMessageBytes bounds one frame or gossip message.
	MaxMessageBytes int
	// SendQueue bounds the frames waiting for one peer's stream; beyond
	// it new frames are dropped (and counted): consensus tolerates loss,
	// a node must not buffer without bound for a slow peer.
	SendQueue int
	// PublishQueue bounds the gossip messages waiting to be published.
	PublishQueue int
	// InboundQueue bounds validated messages waiting for the node, shared
	// out equally among the peers (at least 64 each).
	InboundQueue int
	// DialBackoffMin and DialBackoffMax bound the reconnect back-off.
	DialBackoffMin, DialBackoffMax time.Duration
	// WriteTimeout bounds writing (or reading) one frame, plus the time
	// its size takes at 1 MiB/s; DialTimeout bounds one dial.
	WriteTimeout, DialTimeout time.Duration
}

// DefaultConfig fills the tunables; the caller sets identity, peers and
// the validator.
func DefaultConfig() Config {
	return Config{
		MaxMessageBytes: types.MaxMessageBytes,
		SendQueue:       1024,
		PublishQueue:    256,
		InboundQueue:    4096,
		DialBackoffMin:  100 * time.Millisecond,
		DialBackoffMax:  5 * time.Second,
		WriteTimeout:    5 * time.Second,
		DialTimeout:     5 * time.Second,
	}
}

func (c *Config) check() error {
	switch {
	case c.ChainID == "":
		return errors.New("p2p: chain ID is required")
	case c.Key == nil:
		return errors.New("p2p: key is required")
	case c.Validate == nil:
		return errors.New("p2p: validator is required")
	case int(c.Self) >= len(c.Peers):
		return fmt.Errorf("p2p: self index %d is not among the %d peers", c.Self, len(c.Peers))
	case c.MaxMessageBytes <= 0 || c.SendQueue <= 0 || c.PublishQueue <= 0 || c.InboundQueue <= 0:
		return errors.New("p2p: message size and queue bounds must be positive")
	case c.DialBackoffMin <= 0 || c.DialBackoffMax < c.DialBackoffMin || c.WriteTimeout <= 0 || c.DialTimeout <= 0:
		return errors.New("p2p: back-off and timeouts must be positive, min ≤ max")
	}
	seen := make(map[peer.ID]int, len(c.Peers))
	for i, p := range c.Peers {
		if p.Index != types.ValidatorIndex(i) {
			return fmt.Errorf("p2p: peers[%d] has index %d", i, p.Index)
		}
		if p.ID == "" {
			return fmt.Errorf("p2p: peers[%d]: peer ID is required", i)
		}
		if j, dup := seen[p.ID]; dup {
			return fmt.Errorf("p2p: validators %d and %d have the same peer ID %s", j, i, p.ID)
		}
		seen[p.ID] = i
	}
	return nil
}
