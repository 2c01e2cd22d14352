package sim

import "github.com/bftkit/bftkit/types"

// Count is how many messages of one type were created (one per signed
// message, however many recipients) and sent (one per recipient), and the
// bytes sent.
type Count struct {
	Created, Sent, Bytes uint64
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

// Total sums every type.
func (c Counters) Total() Count {
	var t Count
	for _, x := range c.ByType {
		t.Created += x.Created
		t.Sent += x.Sent
		t.Bytes += x.Bytes
	}
	return t
}
