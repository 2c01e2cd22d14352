package p2p

import (
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// duplicateCounter counts gossip messages that arrived again after the
// first copy: each one crossed the wire, was decrypted and parsed for
// nothing. It implements pubsub.RawTracer; every other event is ignored.
type duplicateCounter struct{ n *atomic.Uint64 }

func (d duplicateCounter) DuplicateMessage(*pubsub.Message) { d.n.Add(1) }

func (duplicateCounter) AddPeer(peer.ID, protocol.ID)                         {}
func (duplicateCounter) RemovePeer(peer.ID)                                   {}
func (duplicateCounter) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (duplicateCounter) OnClosedOutboundStream(peer.ID)                       {}
func (duplicateCounter) Join(string)                                          {}
func (duplicateCounter) Leave(string)                                         {}
func (duplicateCounter) Graft(peer.ID, string)                                {}
func (duplicateCounter) Prune(peer.ID, string)                                {}
func (duplicateCounter) ValidateMessage(*pubsub.Message)                      {}
func (duplicateCounter) DeliverMessage(*pubsub.Message)                       {}
func (duplicateCounter) RejectMessage(*pubsub.Message, string)                {}
func (duplicateCounter) ThrottlePeer(peer.ID)                                 {}
func (duplicateCounter) RecvRPC(*pubsub.RPC)                                  {}
func (duplicateCounter) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (duplicateCounter) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (duplicateCounter) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (duplicateCounter) UndeliverableMessage(*pubsub.Message)                 {}
