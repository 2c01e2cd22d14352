package node

import (
	"errors"

	"github.com/bftkit/bftkit/driver"
	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/store"
	"github.com/bftkit/bftkit/types"
)

// blockServeBytesPerSecond bounds the block bytes served to one peer.
const blockServeBytesPerSecond = 64 << 20

// maxQueuedFetches bounds the fetches waiting for the block server.
const maxQueuedFetches = 256

// queueFetch admits a peer's fetch against its budget and queues it for
// the block server's goroutine (disk reads stay off the Ready loop and the
// transport); over budget, or with the queue full, it is dropped and the
// requester retries.
func (n *Node) queueFetch(r *types.BlockRequest) {
	if n.blocks.Admit(r) != nil {
		n.metrics.blockRequestsRateLimited.Inc()
		return
	}
	select {
	case n.fetches <- r:
	default:
		n.metrics.blockRequestsRateLimited.Inc()
	}
}

// serveBlocks is the block server's goroutine.
func (n *Node) serveBlocks() {
	send := func(m types.Message) { n.transmit(m, protocol.Response) }
	for {
		select {
		case <-n.ctx.Done():
			return
		case r := <-n.fetches:
			err := n.blocks.Serve(r, send)
			switch {
			case errors.Is(err, driver.ErrBudget):
				n.metrics.blockRequestsRateLimited.Inc()
			case err != nil:
				n.log.Warn("serving blocks to a peer", "err", err)
			}
		}
	}
}

// blockSource is the store as the block server reads it.
type blockSource struct{ st *store.Store }

func (s blockSource) BlockByID(id types.BlockID) (*types.Block, bool, error) {
	b, err := s.st.BlockByID(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	return b, err == nil, err
}

func (s blockSource) CommittedBlock(h uint64) (types.CommittedBlock, bool, error) {
	cb, err := s.st.CommittedBlock(h)
	if errors.Is(err, store.ErrNotFound) {
		return types.CommittedBlock{}, false, nil
	}
	return cb, err == nil, err
}
