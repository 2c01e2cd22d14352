package sim

import "github.com/bftkit/bftkit/types"

// Count tallies one message type. Every consensus message carries one
// signature, so Created counts signatures created (one per message, however
// many recipients) and Delivered counts signatures verified (the gateway of
// each recipient verifies what it receives). Sent counts one per recipient,
// whether or not the network then loses it; Bytes are the bytes sent.
type Count struct {
	Created, Sent, Delivered, Bytes uint64
}

// Counters tally the messages of a run by type; the complexity benchmark
// divides them by the blocks committed.
type Counters struct {
	ByType map[types.MsgType]Count
}

func newCounters() Counters { return Counters{ByType: make(map[types.MsgType]Count)} }

func (c *Counters) created(t types.MsgType) {
	x := c.ByType[t]
	x.Created++
	c.ByType[t] = x
}

func (c *Counters) sent(t types.MsgType, bytes int) {
	x := c.ByType[t]
	x.Sent++
	x.Bytes += uint64(bytes)
	c.ByType[t] = x
}

func (c *Counters) delivered(t types.MsgType) {
	x := c.ByType[t]
	x.Delivered++
	c.ByType[t] = x
}

// Total sums every type.
func (c Counters) Total() Count {
	var t Count
	for _, x := range c.ByType {
		t.Created += x.Created
		t.Sent += x.Sent
		t.Delivered += x.Delivered
		t.Bytes += x.Bytes
	}
	return t
}
