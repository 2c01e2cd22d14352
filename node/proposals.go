package node

import (
	"time"

	"github.com/bftkit/bftkit/types"
)

// proposalLog remembers when each proposal first arrived, to measure the
// time from proposal to commit. Owned by the Ready loop. Entries at or
// below the committed height are forgotten; the bound only matters when
// Byzantine proposers send blocks that never commit.
type proposalLog struct {
	seen map[types.BlockID]seenProposal
}

type seenProposal struct {
	at     time.Time
	height uint64
}

const maxSeenProposals = 4096

func newProposalLog() *proposalLog {
	return &proposalLog{seen: make(map[types.BlockID]seenProposal)}
}

func (l *proposalLog) arrived(b *types.Block) {
	id := b.ID()
	if _, ok := l.seen[id]; ok {
		return
	}
	if len(l.seen) >= maxSeenProposals {
		clear(l.seen) // only a flood of never-committed blocks gets here
	}
	l.seen[id] = seenProposal{at: time.Now(), height: b.Height}
}

// committed returns how long ago block id was first seen.
func (l *proposalLog) committed(id types.BlockID) (time.Duration, bool) {
	s, ok := l.seen[id]
	if !ok {
		return 0, false
	}
	return time.Since(s.at), true
}

func (l *proposalLog) forgetUpTo(height uint64) {
	for id, s := range l.seen {
		if s.height <= height {
			delete(l.seen, id)
		}
	}
}
