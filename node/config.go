package node

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/bftkit/bftkit/api"
	"github.com/bftkit/bftkit/app"
	"github.com/bftkit/bftkit/crypto"
	"github.com/bftkit/bftkit/mempool"
	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/types"
	"github.com/prometheus/client_golang/prometheus"
)

// Config is everything one validator needs. The cmd layer fills it from
// the home directory's files and flags; tests fill it directly.
type Config struct {
	Genesis *types.Genesis
	Set     *types.ValidatorSet
	Self    types.ValidatorIndex
	Key     *crypto.SecretKey

	Protocol string
	// Descriptor, if set, runs this protocol instead of the built-in one
	// named by Protocol (whose Byzantine catalogue still applies): an
	// engine of the embedder's own, or a tuned built-in one.
	Descriptor *protocol.Descriptor
	// Byzantine, for experiments only, names a behaviour of the Byzantine
	// catalogue this validator runs (see ByzantineBehaviours); "" is
	// honest.
	Byzantine string
	// DataDir holds the node's block store.
	DataDir string
	// P2PListen is a multiaddr; HTTPListen a host:port ("" disables the API).
	P2PListen, HTTPListen string
	// Pprof serves net/http/pprof under /debug/pprof/ on the HTTP API,
	// to profile a validator as it runs among others.
	Pprof bool

	App     app.Application
	Mempool mempool.Config

	// TickInterval is the wall-clock length of one engine tick; the
	// engines count their timeouts in ticks.
	TickInterval time.Duration
	// ViewTimeout is how long a view (HotStuff), a primary (PBFT's
	// view-change timer) or a leader (Raft's election timeout) gets
	// before the validator gives up on it; MaxViewTimeout caps its
	// back-off. Zero keeps the protocol's default (DefaultViewTimeout);
	// both are rounded up to whole ticks.
	ViewTimeout, MaxViewTimeout time.Duration
	// VerifyWorkers bounds concurrent signature verification. herumi's
	// C calls are not limited by GOMAXPROCS, so the bound must be explicit.
	VerifyWorkers int
	// GossipInterval is how often locally submitted transactions are
	// published in one batch: batching is what keeps gossipsub's per
	// message cost off the critical path. Half of it is, on average, added
	// to the latency of a transaction submitted to a validator that is not
	// the next leader: 10 ms rather than 20 ms cut HotStuff's p50 at
	// 20,000 tx/s from ~125 to ~103 ms on the 2-core benchmark machine
	// (5 ms did no better), with the same saturation.
	GossipInterval time.Duration
	// EmptyBlockInterval is how long a leader with nothing to propose
	// waits before proposing an empty block. It must stay well below the
	// view timeout (TickInterval × the engine's base timeout ticks).
	EmptyBlockInterval time.Duration
	// RetainCommitted is how many committed blocks the engine keeps in
	// memory after a restart; the store serves older ones.
	RetainCommitted uint64
	// BlockRequestsPerSecond bounds the blocks served to one peer.
	BlockRequestsPerSecond int

	// Observe, if set, sees every message the node sends and every block
	// it commits, after they are durable, on the Ready loop's goroutine.
	// It is for tests and tracing; it must not block.
	Observe Observer

	Log      *slog.Logger
	Registry *prometheus.Registry // nil: a private registry
}

// DefaultConfig fills the tunables; the caller sets identity, genesis,
// app, directories and listen addresses.
func DefaultConfig() Config {
	return Config{
		Protocol:               ProtocolHotStuff,
		Mempool:                mempool.DefaultConfig(),
		TickInterval:           50 * time.Millisecond,
		VerifyWorkers:          runtime.NumCPU(),
		GossipInterval:         10 * time.Millisecond,
		EmptyBlockInterval:     100 * time.Millisecond,
		RetainCommitted:        1024,
		BlockRequestsPerSecond: 2048,
	}
}

func (c *Config) check() error {
	switch {
	case c.Genesis == nil || c.Set == nil:
		return errors.New("node: genesis is required")
	case !c.Set.Contains(c.Self):
		return fmt.Errorf("node: validator index %d is not in the set of %d", c.Self, c.Set.N())
	case c.Key == nil:
		return errors.New("node: validator key is required")
	case !c.Key.PublicKey().Equal(c.Set.PubKey(c.Self)):
		return fmt.Errorf("node: the key file's public key is not validator %d's in genesis", c.Self)
	case c.DataDir == "":
		return errors.New("node: data directory is required")
	case c.App == nil:
		return errors.New("node: application is required")
	case c.TickInterval <= 0 || c.GossipInterval <= 0:
		return errors.New("node: tick and gossip intervals must be positive")
	case c.ViewTimeout < 0 || c.MaxViewTimeout < 0 || (c.MaxViewTimeout > 0 && c.MaxViewTimeout < c.ViewTimeout):
		return fmt.Errorf("node: view timeout %s and its cap %s must not be negative, nor the cap below the timeout", c.ViewTimeout, c.MaxViewTimeout)
	case c.EmptyBlockInterval < 0:
		return errors.New("node: the empty block interval must not be negative")
	case c.Mempool.MaxGossipBatchTxs > api.MaxBatchTxs:
		return fmt.Errorf("node: mempool gossip batches of %d transactions exceed the %d a peer accepts", c.Mempool.MaxGossipBatchTxs, api.MaxBatchTxs)
	case c.Mempool.MaxGossipBatchBytes+c.Mempool.MaxGossipBatchTxs*binary.MaxVarintLen32+1 > api.MaxBatchBytes:
		return fmt.Errorf("node: mempool gossip batches of %d bytes exceed the %d a peer accepts", c.Mempool.MaxGossipBatchBytes, api.MaxBatchBytes)
	case c.VerifyWorkers <= 0 || c.BlockRequestsPerSecond <= 0:
		return errors.New("node: verify workers and block request rate must be positive")
	}
	if _, err := lookupMode(c.Protocol); err != nil && c.Descriptor == nil {
		return err
	}
	return c.Mempool.Validate()
}

// Observer receives the node's outbound messages and commits.
type Observer interface {
	Sent(m types.Message)
	Committed(cb types.CommittedBlock)
}
