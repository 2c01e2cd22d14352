package p2p

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bftkit/bftkit/types"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
)

const peerstoreForever = peerstore.PermanentAddrTTL

// sender owns the one outbound stream to a peer. Frames wait in a bounded
// queue; a failed stream is dropped and re-opened after a back-off, so a
// slow or absent peer costs a bounded amount of memory and no other peer
// waits for it.
type sender struct {
	t     *Transport
	peer  Peer
	queue chan []byte
	// wake cuts a back-off short when the peer connects: a validator back
	// from a restart dials us at once, and waiting out a back-off grown
	// while it was down (up to DialBackoffMax) kept it deaf for seconds.
	wake chan struct{}
}

func newSender(t *Transport, p Peer) *sender {
	return &sender{t: t, peer: p, queue: make(chan []byte, t.cfg.SendQueue), wake: make(chan struct{}, 1)}
}

// peerConnected wakes the sender of a peer that just connected.
func (t *Transport) peerConnected(id peer.ID) {
	for _, s := range t.senders {
		if s != nil && s.peer.ID == id {
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
	}
}

// Send queues data for validator to on its direct stream. It never
// blocks: a full queue drops the frame and counts it.
func (t *Transport) Send(to types.ValidatorIndex, data []byte) error {
	if int(to) >= len(t.senders) || t.senders[to] == nil {
		return fmt.Errorf("p2p: no peer %d", to)
	}
	if len(data) > t.cfg.MaxMessageBytes {
		return fmt.Errorf("p2p: message of %d bytes exceeds the limit of %d", len(data), t.cfg.MaxMessageBytes)
	}
	select {
	case t.senders[to].queue <- data:
		return nil
	default:
		t.stats.droppedSend.Add(1)
		return fmt.Errorf("p2p: send queue to validator %d is full", to)
	}
}

// SendAll queues data for every other validator.
func (t *Transport) SendAll(data []byte) {
	for i, s := range t.senders {
		if s != nil {
			_ = t.Send(types.ValidatorIndex(i), data) // counted when dropped
		}
	}
}

func (s *sender) run() {
	defer s.t.wg.Done()
	backoff := s.t.cfg.DialBackoffMin
	var stream network.Stream
	var w *bufio.Writer
	defer func() {
		if stream != nil {
			_ = stream.Close()
		}
	}()
	for {
		var frame []byte
		select {
		case <-s.t.ctx.Done():
			return
		case frame = <-s.queue:
		}
		if stream == nil {
			var err error
			stream, err = s.open()
			if err != nil {
				s.t.stats.droppedSend.Add(1)
				s.t.log.Debug("no stream to peer", "peer", s.peer.Index, "err", err, "retry_in", backoff)
				if !s.sleep(backoff) {
					return
				}
				backoff = min(2*backoff, s.t.cfg.DialBackoffMax)
				if s.t.host.Network().Connectedness(s.peer.ID) == network.Connected {
					backoff = s.t.cfg.DialBackoffMin // connected meanwhile: retry soon
				}
				continue
			}
			w = bufio.NewWriterSize(stream, 64<<10)
			backoff = s.t.cfg.DialBackoffMin
		}
		if err := s.write(stream, w, frame); err != nil {
			s.t.stats.droppedSend.Add(1)
			s.t.log.Debug("stream to peer failed", "peer", s.peer.Index, "err", err)
			_ = stream.Reset()
			stream = nil
			continue
		}
		s.t.stats.out(Direct, len(frame))
	}
}

// write sends one frame and, when no other frame is waiting, flushes: a
// burst of votes costs one system call, a lone vote no latency.
func (s *sender) write(st network.Stream, w *bufio.Writer, frame []byte) error {
	_ = st.SetWriteDeadline(time.Now().Add(transferTimeout(s.t.cfg.WriteTimeout, len(frame))))
	var hdr [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(hdr[:], uint64(len(frame)))
	if _, err := w.Write(hdr[:n]); err != nil {
		return err
	}
	if _, err := w.Write(frame); err != nil {
		return err
	}
	if len(s.queue) == 0 {
		return w.Flush()
	}
	return nil
}

func (s *sender) open() (network.Stream, error) {
	ctx, cancel := context.WithTimeout(s.t.ctx, s.t.cfg.DialTimeout)
	defer cancel()
	return s.t.host.NewStream(ctx, s.peer.ID, s.t.proto)
}

func (s *sender) sleep(d time.Duration) bool {
	select {
	case <-s.t.ctx.Done():
		return false
	case <-time.After(d):
		return true
	case <-s.wake:
		return true
	}
}

// minTransferRate is the slowest a peer may send or receive a frame's
// body: the deadline for a frame grows with its size, so a large block
// fits on a slow link while a peer that trickles bytes is cut off.
const minTransferRate = 1 << 20 // bytes per second

// transferTimeout is base plus the time a frame of size bytes takes at
// minTransferRate.
func transferTimeout(base time.Duration, size int) time.Duration {
	return base + time.Duration(size)*time.Second/minTransferRate
}

// handleStream reads frames from a peer's stream until it ends. The peer
// is authenticated (the gater admitted only validators), so every frame's
// sender is that validator; the Validator still checks that the payload's
// signer is it. A peer has one inbound stream: a new one replaces the
// old, so a peer cannot hold many half-read frames at once.
func (t *Transport) handleStream(st network.Stream) {
	defer st.Close()
	from, ok := t.byID[st.Conn().RemotePeer()]
	if !ok { // the gater should have refused it
		_ = st.Reset()
		return
	}
	t.replaceInbound(from, st)
	defer t.dropInbound(from, st)
	r := bufio.NewReaderSize(st, 64<<10)
	for {
		frame, err := t.readFrame(st, r)
		if err != nil {
			if !errors.Is(err, io.EOF) && t.ctx.Err() == nil {
				t.log.Debug("closing stream from peer", "peer", from, "err", err)
				_ = st.Reset()
			}
			return
		}
		t.stats.in(Direct, len(frame))
		msg, err := t.cfg.Validate(from, Direct, frame)
		if err != nil {
			t.stats.invalid.Add(1)
			t.log.Debug("invalid message", "peer", from, "err", err)
			continue
		}
		if msg != nil { // nil: the validator handled it
			t.deliver(Inbound{From: from, Channel: Direct, Msg: msg})
		}
	}
}

func (t *Transport) replaceInbound(from types.ValidatorIndex, st network.Stream) {
	t.inboundMu.Lock()
	old := t.inboundStreams[from]
	t.inboundStreams[from] = st
	t.inboundMu.Unlock()
	if old != nil {
		_ = old.Reset()
	}
}

func (t *Transport) dropInbound(from types.ValidatorIndex, st network.Stream) {
	t.inboundMu.Lock()
	defer t.inboundMu.Unlock()
	if t.inboundStreams[from] == st {
		delete(t.inboundStreams, from)
	}
}

// readFrame reads one uvarint-length-prefixed frame. It refuses a length
// over the limit, and reads the body in chunks under a deadline that
// grows with its size, so a peer that announces a large frame and sends
// nothing holds neither the memory nor the stream for long.
func (t *Transport) readFrame(st network.Stream, r *bufio.Reader) ([]byte, error) {
	_ = st.SetReadDeadline(time.Time{}) // an idle stream between frames is normal
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n == 0 || n > uint64(t.cfg.MaxMessageBytes) {
		return nil, fmt.Errorf("frame of %d bytes, want 1..%d", n, t.cfg.MaxMessageBytes)
	}
	_ = st.SetReadDeadline(time.Now().Add(transferTimeout(t.cfg.WriteTimeout, int(n))))
	const chunk = 64 << 10
	buf := make([]byte, 0, min(int(n), chunk))
	for len(buf) < int(n) {
		k := min(int(n)-len(buf), chunk)
		buf = append(buf, make([]byte, k)...)
		if _, err := io.ReadFull(r, buf[len(buf)-k:]); err != nil {
			return nil, err
		}
	}
	return buf, nil
}
