package node

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bftkit/bftkit/mempool"
	"github.com/bftkit/bftkit/types"
)

// latencyObserver records, on one validator, when each transaction of the
// load committed.
type latencyObserver struct {
	mu        sync.Mutex
	submitted map[mempool.TxHash]time.Time
	latencies []time.Duration
	done      chan struct{}
	want      int
}

func (o *latencyObserver) Sent(types.Message) {}

func (o *latencyObserver) Committed(cb types.CommittedBlock) {
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, tx := range cb.Block.Txs {
		if t, ok := o.submitted[mempool.HashTx(tx)]; ok {
			o.latencies = append(o.latencies, now.Sub(t))
			if len(o.latencies) == o.want {
				close(o.done)
			}
		}
	}
}

// BenchmarkFourValidatorsCommit measures the in-process four-validator
// cluster, for each protocol, (real libp2p on loopback, LevelDB, BLS, the kvstore) as
// a client sees it: b.N transactions of 100 bytes are submitted round-robin
// to the validators' mempools at full speed, and the benchmark ends when
// validator 0 has committed them all. It reports committed tx/s and the
// p50/p99 latency from submission to commit. All four validators share
// this machine's cores, as in a local testnet.
//
//	go test -run=NONE -bench=FourValidators -benchtime=20000x -count=5 ./node
func BenchmarkFourValidatorsCommit(b *testing.B) {
	for _, protocol := range []string{ProtocolHotStuff, ProtocolPBFT, ProtocolRaft} {
		b.Run(protocol, func(b *testing.B) { benchmarkCluster(b, protocol) })
	}
}

func benchmarkCluster(b *testing.B, protocol string) {
	obs := &latencyObserver{submitted: make(map[mempool.TxHash]time.Time, b.N), done: make(chan struct{}), want: b.N}
	c := newProtocolCluster(b, protocol, 4, obs)
	c.waitHeight(2, 30*time.Second)
	txs := make([][]byte, b.N)
	for i := range txs {
		tx := fmt.Appendf(nil, "bench%08d=", i)
		txs[i] = append(tx, make([]byte, 100-len(tx))...)
		for j := len(tx); j < 100; j++ {
			txs[i][j] = 'v'
		}
	}
	b.ResetTimer()
	start := time.Now()
	for i, tx := range txs {
		obs.mu.Lock()
		obs.submitted[mempool.HashTx(tx)] = time.Now()
		obs.mu.Unlock()
		for {
			_, err := c.nodes[i%4].mempool.Add(context.Background(), tx, mempool.Local)
			if err == nil {
				break
			}
			time.Sleep(time.Millisecond) // mempool full: back off, as a client would
		}
	}
	select {
	case <-obs.done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("only %d of %d transactions committed", len(obs.latencies), b.N)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(obs.latencies)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "tx/s")
	b.ReportMetric(float64(obs.latencies[len(obs.latencies)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(obs.latencies[len(obs.latencies)*99/100].Milliseconds()), "p99-ms")
	b.ReportMetric(float64(c.nodes[0].store.Height()), "blocks")
}
