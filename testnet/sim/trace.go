package sim

import (
	"encoding/binary"
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/bftkit/bftkit/types"
)

// eventKind names what happened at a step of the run.
type eventKind uint8

const (
	evSend eventKind = iota + 1
	evDrop
	evDeliver
	evCommit
	evCrash
	evRestart
	evPause
	evResume
	evPartition
	evHeal
	evClog
	evRejected
)

var eventNames = map[eventKind]string{
	evSend: "send", evDrop: "drop", evDeliver: "deliver", evCommit: "commit",
	evCrash: "crash", evRestart: "restart", evPause: "pause", evResume: "resume",
	evPartition: "partition", evHeal: "heal", evClog: "clog", evRejected: "rejected",
}

type event struct {
	tick    uint64
	kind    eventKind
	node    types.ValidatorIndex
	peer    types.ValidatorIndex
	msgType types.MsgType
	size    int
	height  uint64
	blockID types.BlockID
	detail  string
}

func (e event) String() string {
	s := fmt.Sprintf("t=%d %s n%d", e.tick, eventNames[e.kind], e.node)
	switch e.kind {
	case evSend, evDrop, evDeliver, evRejected:
		s += fmt.Sprintf(" peer=n%d %v %dB", e.peer, e.msgType, e.size)
	case evCommit:
		s += fmt.Sprintf(" height=%d block=%v", e.height, e.blockID)
	}
	if e.detail != "" {
		s += " " + e.detail
	}
	return s
}

// traceSize is how many recent events a violation prints.
const traceSize = 40

// eventLog hashes every event (two runs with one seed must produce the same
// hash) and keeps the last few for the failure trace. Events are formatted
// only when a trace is printed, so logging costs little per step.
type eventLog struct {
	h      hash.Hash64
	buf    []byte
	ring   [traceSize]event
	next   int
	filled bool
	count  uint64
}

func newEventLog() *eventLog { return &eventLog{h: fnv.New64a()} }

func (l *eventLog) add(e event) {
	l.buf = l.buf[:0]
	l.buf = binary.BigEndian.AppendUint64(l.buf, e.tick)
	l.buf = append(l.buf, byte(e.kind))
	l.buf = binary.BigEndian.AppendUint32(l.buf, uint32(e.node))
	l.buf = binary.BigEndian.AppendUint32(l.buf, uint32(e.peer))
	l.buf = binary.BigEndian.AppendUint32(l.buf, uint32(e.msgType))
	l.buf = binary.BigEndian.AppendUint64(l.buf, uint64(e.size))
	l.buf = binary.BigEndian.AppendUint64(l.buf, e.height)
	l.buf = append(l.buf, e.blockID[:]...)
	l.buf = append(l.buf, e.detail...)
	l.h.Write(l.buf)
	l.ring[l.next] = e
	l.next = (l.next + 1) % traceSize
	l.filled = l.filled || l.next == 0
	l.count++
}

// Sum is the hash of every event so far.
func (l *eventLog) Sum() uint64 { return l.h.Sum64() }

// last returns the recent events, oldest first.
func (l *eventLog) last() []string {
	var out []string
	start, n := 0, l.next
	if l.filled {
		start, n = l.next, traceSize
	}
	for k := range n {
		out = append(out, l.ring[(start+k)%traceSize].String())
	}
	return out
}
