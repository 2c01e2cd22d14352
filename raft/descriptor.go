package raft

import (
	"fmt"

	"github.com/bftkit/bftkit/protocol"
	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// Name is the mode's name in configs and on the command line.
const Name = "raft"

// Descriptor is the crash-fault Raft mode as a driver runs it. tune, if
// not nil, adjusts every engine's configuration after the defaults (the
// simulator uses a short log retention).
func Descriptor(tune func(*Config)) protocol.Descriptor {
	return protocol.Descriptor{
		Name: Name,
		New: func(env protocol.Env) (protocol.Engine, error) {
			cfg := DefaultConfig(env.ID, env.N)
			cfg.Rand = env.Rand
			if env.RetainCommitted > 0 {
				cfg.RetainCommitted = env.RetainCommitted
			}
			if tune != nil {
				tune(&cfg)
			}
			e, err := New(cfg, env.Restored)
			if err != nil {
				return nil, fmt.Errorf("raft: restoring: %w", err)
			}
			return e, nil
		},
		// Raft signs nothing: the gateway only admits the mode's types.
		Verify: func(_ *qc.Verifier, m types.Message) error { return VerifyMessage(m) },
		Types: map[types.MsgType]protocol.Class{
			types.MsgRaft:          protocol.Vote,
			types.MsgBlockRequest:  protocol.Fetch,
			types.MsgBlockResponse: protocol.Response,
		},
		Quorum: Quorum,
	}
}

// Position is the current term and the leader this node follows (0 while
// none is known).
func (e *Engine) Position() (uint64, types.ValidatorIndex) {
	l, term, _ := e.Leader()
	return term, l
}

// Halted is always nil: a crash-fault engine never detects a conflict it
// would have to stop for.
func (e *Engine) Halted() error { return nil }
