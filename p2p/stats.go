package p2p

import "sync/atomic"

// Stats are the transport's counters, read by the node's metrics.
type Stats struct {
	// MsgsIn, BytesIn, MsgsOut, BytesOut count by Channel.
	MsgsIn, BytesIn, MsgsOut, BytesOut [numChannels]uint64
	// Invalid counts inbound messages the Validator rejected.
	Invalid uint64
	// DroppedSend counts outbound frames dropped: queue full or write
	// failed. DroppedInbound counts validated messages dropped at
	// shutdown (while running, a full inbound queue holds the sender back
	// instead).
	DroppedSend, DroppedInbound uint64
	// RefusedPeers counts connections from peers outside the set.
	RefusedPeers uint64
	// GossipDuplicates counts gossip messages received again after their
	// first copy: wasted bytes and parsing.
	GossipDuplicates uint64
}

type counters struct {
	msgsIn, bytesIn, msgsOut, bytesOut   [numChannels]atomic.Uint64
	invalid, droppedSend, droppedInbound atomic.Uint64
	gossipDuplicates                     atomic.Uint64
}

func (c *counters) in(ch Channel, n int) {
	c.msgsIn[ch].Add(1)
	c.bytesIn[ch].Add(uint64(n))
}

func (c *counters) out(ch Channel, n int) {
	c.msgsOut[ch].Add(1)
	c.bytesOut[ch].Add(uint64(n))
}

func (c *counters) snapshot() Stats {
	var s Stats
	for ch := range numChannels {
		s.MsgsIn[ch] = c.msgsIn[ch].Load()
		s.BytesIn[ch] = c.bytesIn[ch].Load()
		s.MsgsOut[ch] = c.msgsOut[ch].Load()
		s.BytesOut[ch] = c.bytesOut[ch].Load()
	}
	s.Invalid = c.invalid.Load()
	s.DroppedSend = c.droppedSend.Load()
	s.DroppedInbound = c.droppedInbound.Load()
	s.GossipDuplicates = c.gossipDuplicates.Load()
	return s
}
