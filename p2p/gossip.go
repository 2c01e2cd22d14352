package p2p

import (
	"context"
	"fmt"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// gossip holds the two topics. Publishing goes through one bounded queue
// drained by one goroutine: gossipsub drops silently when a peer's
// outbound queue overflows, so the node must not publish in bursts, and
// a full queue here is an error the caller sees.
type gossip struct {
	ps      *pubsub.PubSub
	topics  [numChannels]*pubsub.Topic
	publish chan publication
}

type publication struct {
	ch   Channel
	data []byte
}

// gossipValidators bounds concurrent validations per topic.
const gossipValidators = 8

// floodOnceParams makes gossipsub send each message once to each
// validator: the author floods it to every peer (WithFloodPublish), and
// nobody forwards it, because there is no mesh (D = 0). Every validator
// is connected to every other, so a forward could only repeat what the
// author already sent: with forwarding (a mesh, or direct peers, which
// always get a forward) a broadcast crossed the wire (n−1)² times in all
// (the author's n−1 copies, and n−2 more from each receiver) instead of
// n−1: at n = 4, three times the bytes of every proposal and transaction
// batch. What forwarding was for, repairing a lost copy, is left to
// gossipsub's lazy gossip, kept small because it is sent whether or not
// anything was lost: each heartbeat a node advertises the IDs of the
// messages of the last heartbeat (IHAVE) to two random peers, and a peer
// that lacks one asks for it (IWANT). The consensus layer repairs losses
// on its own as well (block fetching, transaction re-gossip).
func floodOnceParams() pubsub.GossipSubParams {
	p := pubsub.DefaultGossipSubParams()
	p.D, p.Dlo, p.Dhi, p.Dout, p.Dscore = 0, 0, 0, 0, 0
	// By default IHAVE goes to max(6, n/4) peers for three heartbeats of
	// messages: megabytes per second per node at n = 64.
	p.Dlazy, p.GossipFactor, p.HistoryGossip = 2, 0, 1
	return p
}

func startGossip(t *Transport) (*gossip, error) {
	ps, err := pubsub.NewGossipSub(t.ctx, t.host,
		pubsub.WithMaxMessageSize(t.cfg.MaxMessageBytes+4096),
		pubsub.WithMessageSignaturePolicy(pubsub.StrictSign),
		pubsub.WithPeerExchange(false),
		pubsub.WithPeerOutboundQueueSize(256),
		pubsub.WithValidateQueueSize(1024),
		pubsub.WithGossipSubParams(floodOnceParams()),
		pubsub.WithFloodPublish(true),
		pubsub.WithRawTracer(duplicateCounter{&t.stats.gossipDuplicates}),
	)
	if err != nil {
		return nil, fmt.Errorf("p2p: gossipsub: %w", err)
	}
	g := &gossip{ps: ps, publish: make(chan publication, t.cfg.PublishQueue)}
	for _, ch := range []Channel{Proposals, Txs} {
		name := fmt.Sprintf("/bftkit/%s/%s/1", t.cfg.ChainID, ch)
		// Bounded concurrency and a timeout: each validation holds a
		// message of up to MaxMessageBytes while it waits for the node's
		// verification workers.
		if err := ps.RegisterTopicValidator(name, t.topicValidator(ch),
			pubsub.WithValidatorConcurrency(gossipValidators), pubsub.WithValidatorTimeout(10*time.Second)); err != nil {
			return nil, fmt.Errorf("p2p: topic %s: %w", name, err)
		}
		topic, err := ps.Join(name)
		if err != nil {
			return nil, fmt.Errorf("p2p: join %s: %w", name, err)
		}
		sub, err := topic.Subscribe(pubsub.WithBufferSize(1024))
		if err != nil {
			return nil, fmt.Errorf("p2p: subscribe %s: %w", name, err)
		}
		g.topics[ch] = topic
		t.wg.Add(1)
		go t.readTopic(ch, sub)
	}
	t.wg.Add(1)
	go t.runPublisher(g)
	return g, nil
}

// topicValidator runs the node's Validator on each gossip message before
// gossipsub relays it, and keeps the decoded result for readTopic. The
// author is the message's libp2p-signed origin, not the relay.
func (t *Transport) topicValidator(ch Channel) pubsub.ValidatorEx {
	return func(_ context.Context, _ peer.ID, m *pubsub.Message) pubsub.ValidationResult {
		if m.Local || m.GetFrom() == t.host.ID() {
			return pubsub.ValidationAccept // our own publish; StrictSign stops anyone else using our ID
		}
		from, ok := t.byID[m.GetFrom()]
		if !ok {
			t.stats.invalid.Add(1)
			return pubsub.ValidationReject
		}
		msg, err := t.cfg.Validate(from, ch, m.Data)
		if err != nil {
			t.stats.invalid.Add(1)
			t.log.Debug("invalid gossip", "topic", ch, "author", from, "err", err)
			return pubsub.ValidationReject
		}
		if msg != nil { // nil: the validator handled it
			m.ValidatorData = Inbound{From: from, Channel: ch, Msg: msg}
		}
		return pubsub.ValidationAccept
	}
}

func (t *Transport) readTopic(ch Channel, sub *pubsub.Subscription) {
	defer t.wg.Done()
	defer sub.Cancel()
	for {
		m, err := sub.Next(t.ctx)
		if err != nil {
			return // closed
		}
		if m.Local {
			continue
		}
		in, ok := m.ValidatorData.(Inbound)
		if !ok {
			continue
		}
		t.stats.in(ch, len(m.Data))
		t.deliver(in)
	}
}

// Publish queues data for gossip on ch (Proposals or Txs). It never
// blocks; a full queue is an error and the message is not sent.
func (t *Transport) Publish(ch Channel, data []byte) error {
	if ch != Proposals && ch != Txs {
		return fmt.Errorf("p2p: %s is not a gossip topic", ch)
	}
	if len(data) > t.cfg.MaxMessageBytes {
		return fmt.Errorf("p2p: message of %d bytes exceeds the limit of %d", len(data), t.cfg.MaxMessageBytes)
	}
	select {
	case t.gossip.publish <- publication{ch: ch, data: data}:
		return nil
	default:
		t.stats.droppedSend.Add(1)
		return fmt.Errorf("p2p: gossip queue is full (%d messages)", cap(t.gossip.publish))
	}
}

func (t *Transport) runPublisher(g *gossip) {
	defer t.wg.Done()
	for {
		select {
		case <-t.ctx.Done():
			return
		case p := <-g.publish:
			if err := g.topics[p.ch].Publish(t.ctx, p.data); err != nil {
				t.stats.droppedSend.Add(1)
				t.log.Debug("publish failed", "topic", p.ch, "err", err)
				continue
			}
			t.stats.out(p.ch, len(p.data))
		}
	}
}
