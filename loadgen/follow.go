package loadgen

import (
	"context"
	"fmt"
	"time"
)

const (
	// blockPoll is the wait before asking again for a block not yet
	// committed: short next to a block interval, so it adds little to the
	// measured latency, long enough to cost the node nothing.
	blockPoll = 10 * time.Millisecond
	// followRetry is the wait after a failed request, before trying the
	// next endpoint.
	followRetry = 100 * time.Millisecond
)

// follower reads the committed chain block by block from height from on
// and records this run's transactions in the ledger. Reading blocks,
// rather than asking per transaction, costs one request per block however
// high the rate, and sees a transaction committed through any validator.
type follower struct {
	client    *client
	endpoints []string
	codec     txCodec
	ledger    *ledger
}

func (f *follower) run(ctx context.Context, from uint64) {
	ep := 0 // the first endpoint; the next one after a failure
	for h := from; ctx.Err() == nil; {
		b, found, err := f.client.block(ctx, f.endpoints[ep], h)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			f.ledger.addError(fmt.Sprintf("GET %s/block: %v", f.endpoints[ep], err))
			ep = (ep + 1) % len(f.endpoints)
			sleep(ctx, followRetry)
		case !found:
			sleep(ctx, blockPoll)
		default:
			seen := time.Now()
			var seqs []uint64
			for _, tx := range b.Txs {
				if seq, ok := f.codec.seq(tx); ok {
					seqs = append(seqs, seq)
				}
			}
			f.ledger.commit(seqs, seen)
			h++
		}
	}
}
