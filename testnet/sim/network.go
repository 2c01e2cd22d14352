package sim

import (
	"container/heap"
	"math/rand/v2"

	"github.com/bftkit/bftkit/types"
)

// LinkFaults is the fault model of every link during the safety phase.
type LinkFaults struct {
	DelayMin, DelayMax int     // ticks from send to delivery, uniform
	Drop               float64 // probability a message is lost
	Duplicate          float64 // probability a message is delivered twice
	Replay             float64 // probability an old message is delivered again
}

// packet is one message in flight, encoded: nodes never share memory.
type packet struct {
	at       uint64 // delivery tick
	seq      uint64 // total order among packets due at the same tick
	from, to types.ValidatorIndex
	data     []byte
	msgType  types.MsgType
}

type packetQueue []*packet

func (q packetQueue) Len() int { return len(q) }
func (q packetQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q packetQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *packetQueue) Push(x any)   { *q = append(*q, x.(*packet)) }
func (q *packetQueue) Pop() any {
	old := *q
	p := old[len(old)-1]
	*q = old[:len(old)-1]
	return p
}

// replayWindow bounds how many past packets the network remembers for replay.
const replayWindow = 256

// network delivers packets with the faults of the current phase.
type network struct {
	n        int
	rng      *rand.Rand
	faults   LinkFaults
	blocked  [][]bool // blocked[from][to]: a partition or a clog
	queue    packetQueue
	seq      uint64
	recent   []*packet // ring of sent packets, for replay
	recentAt int
}

func newNetwork(n int, rng *rand.Rand) *network {
	nw := &network{n: n, rng: rng, blocked: make([][]bool, n)}
	for i := range nw.blocked {
		nw.blocked[i] = make([]bool, n)
	}
	return nw
}

// send schedules p's delivery, applying the link's faults. It reports
// whether the packet was dropped.
func (nw *network) send(now uint64, p *packet) (dropped bool) {
	nw.remember(p)
	if nw.blocked[p.from][p.to] || nw.chance(nw.faults.Drop) {
		return true
	}
	nw.schedule(now, p)
	if nw.chance(nw.faults.Duplicate) {
		dup := *p
		nw.schedule(now, &dup)
	}
	if nw.chance(nw.faults.Replay) && len(nw.recent) > 0 {
		old := *nw.recent[nw.rng.IntN(len(nw.recent))]
		if !nw.blocked[old.from][old.to] {
			nw.schedule(now, &old)
		}
	}
	return false
}

func (nw *network) schedule(now uint64, p *packet) {
	delay := nw.faults.DelayMin
	if span := nw.faults.DelayMax - nw.faults.DelayMin; span > 0 {
		delay += nw.rng.IntN(span + 1)
	}
	p.at = now + uint64(max(delay, 1))
	nw.seq++
	p.seq = nw.seq
	heap.Push(&nw.queue, p)
}

func (nw *network) remember(p *packet) {
	if len(nw.recent) < replayWindow {
		nw.recent = append(nw.recent, p)
		return
	}
	nw.recent[nw.recentAt] = p
	nw.recentAt = (nw.recentAt + 1) % replayWindow
}

func (nw *network) chance(p float64) bool { return p > 0 && nw.rng.Float64() < p }

// due pops the next packet due at or before now, or nil.
func (nw *network) due(now uint64) *packet {
	if len(nw.queue) == 0 || nw.queue[0].at > now {
		return nil
	}
	return heap.Pop(&nw.queue).(*packet)
}

// partition cuts every link between the two sides, both ways.
func (nw *network) partition(side []types.ValidatorIndex) {
	in := make([]bool, nw.n)
	for _, i := range side {
		in[i] = true
	}
	for a := range nw.n {
		for b := range nw.n {
			if in[a] != in[b] {
				nw.blocked[a][b] = true
			}
		}
	}
}

// cutOneWay blocks messages from one node to another only.
func (nw *network) cutOneWay(from, to types.ValidatorIndex) { nw.blocked[from][to] = true }

// clog blocks every link to and from node i (swizzle-clog, one node at a time).
func (nw *network) clog(i types.ValidatorIndex, on bool) {
	for j := range nw.n {
		nw.blocked[i][j] = on
		nw.blocked[j][i] = on
	}
}

// heal removes every partition and clog.
func (nw *network) heal() {
	for a := range nw.blocked {
		clear(nw.blocked[a])
	}
}
