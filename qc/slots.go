package qc

import (
	"errors"
	"fmt"

	"github.com/bftkit/bftkit/types"
)

// ErrTooManySlots means the signer already has votes in as many open slots
// as its quota allows; the vote is dropped. Each signer has its own quota,
// so a Byzantine validator that votes in many future slots exhausts only its
// own, never an honest one's.
var ErrTooManySlots = errors.New("signer has too many open slots")

// ErrStale means the vote is for a slot below the collector's floor: the
// slot was pruned and must not reopen (it could emit a second certificate).
var ErrStale = errors.New("vote for a pruned slot")

// Slot is what votes are collected for: a HotStuff view (Seq = 0), or a PBFT
// (view, sequence number) or checkpoint (view 0, sequence number).
type Slot struct {
	View uint64
	Seq  uint64
}

// CollectorConfig sizes a collector.
type CollectorConfig struct {
	N      int // validators in the set
	Quorum int // distinct signers a certificate needs
	// MaxSlotsPerSigner bounds the open slots each signer may have voted
	// in. Memory is then at most N × MaxSlotsPerSigner slots. An honest
	// signer votes only inside the engine's window (views near the current
	// one, PBFT watermarks), so the engine sets this to the window's width
	// and prunes as it advances.
	MaxSlotsPerSigner int
}

// slotGate enforces what both collectors share: membership, the floors
// below which slots are stale, and each signer's quota of open slots.
type slotGate struct {
	cfg       CollectorConfig
	viewFloor uint64
	seqFloor  uint64
	open      []int // open slots each signer has voted in
}

func newSlotGate(cfg CollectorConfig) slotGate {
	return slotGate{cfg: cfg, open: make([]int, cfg.N)}
}

// admit checks whether signer may cast a first vote in slot s.
func (g *slotGate) admit(s Slot, signer types.ValidatorIndex, firstInSlot bool) error {
	if int(signer) >= g.cfg.N {
		return fmt.Errorf("signer %d: %w", signer, ErrNonMember)
	}
	if g.stale(s) {
		return fmt.Errorf("slot %+v below floor (view %d, seq %d): %w", s, g.viewFloor, g.seqFloor, ErrStale)
	}
	if firstInSlot && g.open[signer] >= g.cfg.MaxSlotsPerSigner {
		return fmt.Errorf("signer %d: %w (%d)", signer, ErrTooManySlots, g.cfg.MaxSlotsPerSigner)
	}
	return nil
}

func (g *slotGate) stale(s Slot) bool { return s.View < g.viewFloor || s.Seq < g.seqFloor }

// raise moves the floors up (never down).
func (g *slotGate) raise(view, seq uint64) {
	g.viewFloor = max(g.viewFloor, view)
	g.seqFloor = max(g.seqFloor, seq)
}
