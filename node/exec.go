package node

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/bftkit/bftkit/app"
)

// executor applies committed blocks to the application, in height order,
// on its own goroutine so that a slow application never stalls consensus.
// It reads the blocks back from the store, which already holds them
// durably: a crash between commit and execution loses nothing, because
// the handshake on restart replays what the application lacks.
type executor struct {
	n    *Node
	wake chan struct{}
	// state is the application's last committed height and the app hash
	// after it, swapped together so readers never see a mismatched pair.
	state atomic.Pointer[appState]

	// recent remembers the app hash after each of the last
	// recentAppHashes blocks, so the API can report the state hash at a
	// height and replicas can be compared at the same height.
	mu     sync.Mutex
	recent map[uint64][]byte
}

const recentAppHashes = 4096

type appState struct {
	height uint64
	hash   []byte
}

func (x *executor) appHeight() uint64 { return x.state.Load().height }

func newExecutor(n *Node) *executor {
	return &executor{n: n, wake: make(chan struct{}, 1), recent: make(map[uint64][]byte)}
}

// notify says the store holds newly committed blocks.
func (x *executor) notify() {
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

// handshake brings the application to the store's height (ABCI's Info
// handshake): a fresh app gets InitChain; an app behind the store
// replays the blocks it lacks; an app ahead of the store means the store
// was lost or replaced, which the node must not paper over.
func (x *executor) handshake(ctx context.Context) error {
	a, st := x.n.cfg.App, x.n.store
	info, err := a.Info(ctx, app.InfoRequest{NodeVersion: Version})
	if err != nil {
		return fmt.Errorf("application handshake: %w", err)
	}
	if info.LastHeight > st.Height() {
		return fmt.Errorf("application is at height %d but the block store only reaches %d: the store in %s was lost or replaced",
			info.LastHeight, st.Height(), x.n.cfg.DataDir)
	}
	hash := info.LastAppHash
	if info.LastHeight == 0 {
		res, err := a.InitChain(ctx, app.InitChainRequest{ChainID: x.n.cfg.Genesis.ChainID, AppState: x.n.cfg.Genesis.AppState})
		if err != nil {
			return fmt.Errorf("application InitChain: %w", err)
		}
		hash = res.AppHash
	}
	x.state.Store(&appState{height: info.LastHeight, hash: hash})
	if err := x.catchUp(ctx); err != nil {
		return err
	}
	if h := x.appHeight(); h > info.LastHeight {
		x.n.log.Info("replayed committed blocks into the application", "from", info.LastHeight+1, "to", h)
	}
	return nil
}

func (x *executor) run() {
	for {
		select {
		case <-x.n.ctx.Done():
			return
		case <-x.wake:
		}
		if err := x.catchUp(x.n.ctx); err != nil {
			if x.n.ctx.Err() != nil {
				return // stopping: the app may report the cancellation its own way
			}
			// An application that cannot execute a committed block cannot
			// go on: its state would silently diverge from the chain.
			x.n.fail(fmt.Errorf("application failed on a committed block: %w", err))
			return
		}
	}
}

// catchUp executes every stored block above the application's height.
func (x *executor) catchUp(ctx context.Context) error {
	for h := x.appHeight() + 1; h <= x.n.store.Height(); h++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := x.apply(ctx, h); err != nil {
			return err
		}
	}
	return nil
}

func (x *executor) apply(ctx context.Context, h uint64) error {
	cb, err := x.n.store.CommittedBlock(h)
	if err != nil {
		return fmt.Errorf("reading committed block %d: %w", h, err)
	}
	b := cb.Block
	txs := txBytes(b.Txs)
	res, err := x.n.cfg.App.FinalizeBlock(ctx, app.FinalizeBlockRequest{
		Height: h, BlockID: cb.ID[:], Proposer: uint32(b.Proposer), Txs: txs,
	})
	if err != nil {
		return fmt.Errorf("FinalizeBlock %d: %w", h, err)
	}
	if _, err := x.n.cfg.App.Commit(ctx); err != nil {
		return fmt.Errorf("Commit %d: %w", h, err)
	}
	x.state.Store(&appState{height: h, hash: res.AppHash})
	x.remember(h, res.AppHash)
	x.n.metrics.committedTxs.Add(float64(len(txs)))
	if err := x.n.mempool.Update(ctx, h, txs); err != nil {
		x.n.log.Warn("mempool update after commit", "height", h, "err", err)
	}
	return nil
}

func (x *executor) remember(h uint64, hash []byte) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.recent[h] = hash
	if h > recentAppHashes {
		delete(x.recent, h-recentAppHashes)
	}
}

// AppHashAt returns the application hash after executing the block at
// height h, if h is among the recently executed heights.
func (n *Node) AppHashAt(h uint64) ([]byte, bool) {
	n.exec.mu.Lock()
	defer n.exec.mu.Unlock()
	hash, ok := n.exec.recent[h]
	return hash, ok
}
