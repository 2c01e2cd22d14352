// Package node runs one validator: it wires a consensus engine to the
// block store, the libp2p transport, the mempool, the application and an
// HTTP API, and is the one package that owns goroutines. The engine is
// driven by a single goroutine, the Ready loop (loop.go); everything else
// talks to it through channels.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bftkit/bftkit/api"
	"github.com/bftkit/bftkit/driver"
	"github.com/bftkit/bftkit/mempool"
	"github.com/bftkit/bftkit/p2p"
	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/store"
	"github.com/bftkit/bftkit/types"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
)

// Node is one running validator.
type Node struct {
	cfg      Config
	log      *slog.Logger
	store    *store.Store
	mempool  *mempool.Mempool
	desc     *protocol.Descriptor
	driver   *driver.Driver // owned by the Ready loop
	net      *p2p.Transport
	gateway  *driver.Gateway
	metrics  *metrics
	registry *prometheus.Registry
	exec     *executor
	blocks   *driver.BlockServer

	status  atomic.Pointer[api.Status]
	fetches chan *types.BlockRequest // admitted block fetches, for the block server
	txIn    chan txBatch             // batches from peers, for the mempool
	// asyncAdds bounds POST /tx?mode=async submissions still in CheckTx;
	// asyncFailures remembers why recent ones were refused.
	asyncAdds       chan struct{}
	asyncFailures   *failureLog
	proposals       *proposalLog  // loop-owned
	lastTimeoutView uint64        // loop-owned, for the view-timeout metric
	lastCommittedID types.BlockID // loop-owned, for /status
	// halted is why consensus stopped on this validator (a halted engine,
	// a failed persist), nil while it runs.
	halted atomic.Pointer[error]

	done    chan struct{} // closed when the node has stopped
	halting chan struct{} // closed when consensus halted
	errOnce sync.Once
	err     error // the fatal error that stopped the node, if any
	httpLn  net.Listener
	httpSrv *http.Server

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	stopped sync.Once
}

// New opens the store, brings the application up to the store's height,
// restores the engine and starts listening. Call Start to begin, Stop to
// end. On error, everything opened so far is closed again.
func New(cfg Config) (_ *Node, err error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	n := &Node{
		cfg: cfg, log: log.With("validator", cfg.Self),
		fetches: make(chan *types.BlockRequest, maxQueuedFetches),
		txIn:    make(chan txBatch, 256),

		asyncAdds:     make(chan struct{}, maxAsyncAdds),
		asyncFailures: newFailureLog(),
		proposals:     newProposalLog(),
		done:          make(chan struct{}),
		halting:       make(chan struct{}),
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			n.closeAll()
		}
	}()
	n.registry = cfg.Registry
	if n.registry == nil {
		n.registry = prometheus.NewRegistry()
	}
	n.metrics = newMetrics(n.registry)
	if n.store, err = store.Open(cfg.DataDir, store.Options{}); err != nil {
		return nil, err
	}
	if n.mempool, err = mempool.New(cfg.Mempool, cfg.App); err != nil {
		return nil, err
	}
	n.exec = newExecutor(n)
	if err = n.exec.handshake(n.ctx); err != nil {
		return nil, err
	}
	restored, err := n.store.Restore(cfg.RetainCommitted)
	if err != nil {
		return nil, err
	}
	if err = n.startDriver(restored); err != nil {
		return nil, err
	}
	n.metrics.height.Set(float64(n.store.Height()))
	if k := len(restored.Committed); k > 0 {
		n.lastCommittedID = restored.Committed[k-1].ID
	}
	if n.net, err = n.startTransport(); err != nil {
		return nil, err
	}
	if err = n.listenHTTP(); err != nil {
		return nil, err
	}
	n.registerGauges()
	n.publishStatus()
	return n, nil
}

func (n *Node) startTransport() (*p2p.Transport, error) {
	peers, err := peersFromGenesis(n.cfg.Genesis)
	if err != nil {
		return nil, err
	}
	pc := p2p.DefaultConfig()
	pc.ChainID, pc.Self, pc.Key = n.cfg.Genesis.ChainID, n.cfg.Self, n.cfg.Key
	pc.ListenAddr, pc.Peers, pc.Validate, pc.Log = n.cfg.P2PListen, peers, n.validate, n.log
	return p2p.New(pc)
}

// peersFromGenesis reads every validator's peer ID and address. An entry
// without an address is a validator that dials in.
func peersFromGenesis(g *types.Genesis) ([]p2p.Peer, error) {
	peers := make([]p2p.Peer, len(g.Validators))
	for i, v := range g.Validators {
		if v.PeerID == "" {
			return nil, fmt.Errorf("genesis validators[%d].peer_id: required to run a node (bftkit keys show prints it)", i)
		}
		id, err := peer.Decode(v.PeerID)
		if err != nil {
			return nil, fmt.Errorf("genesis validators[%d].peer_id: %w", i, err)
		}
		peers[i] = p2p.Peer{Index: types.ValidatorIndex(i), ID: id}
		if v.Address != "" {
			if peers[i].Addr, err = ma.NewMultiaddr(v.Address); err != nil {
				return nil, fmt.Errorf("genesis validators[%d].address: %w", i, err)
			}
		}
	}
	return peers, nil
}

// Start runs the node's goroutines.
func (n *Node) Start() {
	n.goRun(n.runLoop)
	n.goRun(n.exec.run)
	n.goRun(n.serveBlocks)
	n.goRun(n.runTxGossip)
	n.goRun(n.runTxIntake)
	if n.httpSrv != nil {
		n.goRun(n.serveHTTP)
	}
	n.log.Info("validator started", "protocol", n.desc.Name, "height", n.store.Height(),
		"p2p", n.net.ListenAddrs(), "http", n.HTTPAddr())
}

func (n *Node) goRun(f func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
}

// Stop ends every goroutine and closes the transport and the store, and
// returns the fatal error that stopped the node early, if one did.
// Everything committed is durable in the store already (the Ready loop
// persists before it acknowledges), so stopping at any point loses
// nothing: a block committed but not yet executed is replayed on restart.
func (n *Node) Stop() error {
	n.stopped.Do(func() {
		n.cancel()
		if n.httpSrv != nil {
			// Shutdown waits for handlers; their contexts (BaseContext)
			// are already cancelled, so they end promptly.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = n.httpSrv.Shutdown(ctx)
			cancel()
		}
		n.wg.Wait()
		n.setErr(n.closeAll())
		close(n.done)
		n.log.Info("validator stopped")
	})
	return n.Err()
}

// Done is closed once the node has stopped, by Stop or by a fatal error
// (a failed persist, an application that fails on a committed block).
func (n *Node) Done() <-chan struct{} { return n.done }

// Err is the error that stopped the node, nil after a clean Stop.
func (n *Node) Err() error {
	select {
	case <-n.done:
		return n.err
	default:
		return nil
	}
}

func (n *Node) setErr(err error) {
	if err != nil {
		n.errOnce.Do(func() { n.err = err })
	}
}

// fail stops the node because of err, from one of its own goroutines
// (which Stop waits for, hence the new goroutine).
func (n *Node) fail(err error) {
	n.log.Error("stopping the validator", "err", err)
	n.setErr(err)
	go func() { _ = n.Stop() }()
}

func (n *Node) closeAll() error {
	n.cancel()
	var errs []error
	if n.httpLn != nil {
		_ = n.httpLn.Close()
	}
	if n.net != nil {
		errs = append(errs, n.net.Close())
	}
	if n.store != nil {
		errs = append(errs, n.store.Close())
	}
	return errors.Join(errs...)
}

// Registry is the node's metrics registry (served at /metrics).
func (n *Node) Registry() *prometheus.Registry { return n.registry }

// P2PAddrs are the transport's listen addresses.
func (n *Node) P2PAddrs() []string { return n.net.ListenAddrs() }

// registerGauges exports the mempool's and transport's own counters.
func (n *Node) registerGauges() {
	f := factory{n.registry}
	f.gaugeFunc("mempool_txs", "Transactions waiting in the mempool.", func() float64 {
		txs, _ := n.mempool.Size()
		return float64(txs)
	})
	f.gaugeFunc("mempool_bytes", "Bytes of transactions waiting in the mempool.", func() float64 {
		_, b := n.mempool.Size()
		return float64(b)
	})
	rejected := map[string]func(mempool.RejectedStats) uint64{
		"full":           func(r mempool.RejectedStats) uint64 { return r.Full },
		"too_large":      func(r mempool.RejectedStats) uint64 { return r.TooLarge + r.Empty },
		"duplicate":      func(r mempool.RejectedStats) uint64 { return r.Duplicate },
		"checktx":        func(r mempool.RejectedStats) uint64 { return r.CheckTx },
		"checktx_failed": func(r mempool.RejectedStats) uint64 { return r.CheckTxError },
	}
	for reason, get := range rejected {
		f.labelledCounterFunc("mempool_rejected_total", "Transactions the mempool refused, by reason.", "reason", reason,
			func() float64 { return float64(get(n.mempool.Stats().Rejected)) })
	}
	f.counterFunc("p2p_dropped_total", "Outbound frames the transport dropped (send queue full, write failed).", func() float64 {
		s := n.net.Stats()
		return float64(s.DroppedSend)
	})
	f.counterFunc("p2p_refused_peers_total", "Connections refused from peers outside the validator set.", func() float64 {
		return float64(n.net.Stats().RefusedPeers)
	})
	f.counterFunc("p2p_gossip_duplicates_total", "Gossip messages received again after their first copy (wasted transfer).", func() float64 {
		return float64(n.net.Stats().GossipDuplicates)
	})
}
