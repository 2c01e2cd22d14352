package pbft

import (
	"fmt"
	"sync"

	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// Name is the protocol's name in configs and on the command line.
const Name = "pbft"

// ViewWindow is how many views ahead of its own a replica takes
// pre-prepares and view changes without the gateway's far-future budget:
// a replica that missed a new-view lags by a view or two.
const ViewWindow = 4

// Descriptor is PBFT as a driver runs it. tune, if not nil, adjusts every
// engine's configuration after the defaults (the simulator uses a small
// window; canaries break a rule). The window size the gateway checks
// certificates against is read from a tuned configuration, so it must not
// depend on the replica.
func Descriptor(tune func(*Config)) protocol.Descriptor {
	config := func(env protocol.Env) Config {
		cfg := DefaultConfig(env.ID, env.N, env.ChainID, env.Signer, env.Scheme)
		if env.RetainCommitted > 0 {
			cfg.RetainCommitted = max(env.RetainCommitted, cfg.WindowSize)
		}
		if tune != nil {
			tune(&cfg)
		}
		return cfg
	}
	// The window bounds a new-view's O; it depends on n only, and the
	// gateway asks for it on every message.
	windows := &windowCache{size: func(n int) uint64 { return config(protocol.Env{N: n}).WindowSize }}
	return protocol.Descriptor{
		Name: Name,
		New: func(env protocol.Env) (protocol.Engine, error) {
			e, err := New(config(env), env.Restored)
			if err != nil {
				return nil, fmt.Errorf("pbft: restoring: %w", err)
			}
			return e, nil
		},
		Verify: func(v *qc.Verifier, m types.Message) error {
			return VerifyMessage(v, windows.of(v.N()), m)
		},
		Types: map[types.MsgType]protocol.Class{
			types.MsgPBFTPrePrepare: protocol.Proposal,
			types.MsgPBFTVote:       protocol.Vote,
			types.MsgPBFTViewChange: protocol.ViewChange,
			types.MsgPBFTNewView:    protocol.NewView,
			types.MsgBlockRequest:   protocol.Fetch,
			types.MsgBlockResponse:  protocol.Response,
		},
		Leader: func(n int) func(uint64) types.ValidatorIndex {
			return func(view uint64) types.ValidatorIndex { return Primary(view, n) }
		},
		ViewWindow: ViewWindow,
		CheckTiming: func(idleTicks float64) error {
			// An idle primary must propose well within the view-change
			// timer, or an idle chain changes view all the time.
			cfg := config(protocol.Env{N: 4})
			if limit := float64(cfg.ViewChangeTicks) / 2; idleTicks >= limit {
				return fmt.Errorf("an idle primary waits %.1f ticks, at least half PBFT's %d-tick view-change timer", idleTicks, cfg.ViewChangeTicks)
			}
			return nil
		},
		Quorum: types.QuorumSize,
	}
}

// windowCache remembers the window size per validator-set size; safe on
// the gateway's many goroutines.
type windowCache struct {
	size func(n int) uint64
	m    sync.Map // int → uint64
}

func (c *windowCache) of(n int) uint64 {
	if w, ok := c.m.Load(n); ok {
		return w.(uint64)
	}
	w := c.size(n)
	c.m.Store(n, w)
	return w
}
