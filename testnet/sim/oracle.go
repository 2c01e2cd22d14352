package sim

import (
	"fmt"

	"github.com/bftkit/bftkit/types"
)

// Violation is a broken invariant: the run stops at the first one.
type Violation struct {
	Protocol string
	N        int
	Seed     uint64
	Tick     uint64
	Node     types.ValidatorIndex
	What     string
	Trace    []string // the last events before the violation, oldest first
}

func (v *Violation) Error() string {
	s := fmt.Sprintf("safety violation (seed %d, tick %d, node %d): %s\n"+
		"replay with: bftkit sim --protocol %s --nodes %d --seed %d (and the same --faults and --byzantine)\nlast events:",
		v.Seed, v.Tick, v.Node, v.What, v.Protocol, v.N, v.Seed)
	for _, e := range v.Trace {
		s += "\n  " + e
	}
	return s
}

// oracle checks the safety invariants that hold for every
// protocol, on each block an honest node commits:
//   - agreement: no two honest nodes commit different blocks at one height;
//   - no gaps: a node's next committed block has the next height, so its
//     committed prefix only grows;
//   - validity: every committed transaction was submitted by the client;
//   - the protocol's own block checks (Protocol.Validate).
type oracle struct {
	byHeight  map[uint64]types.BlockID
	firstBy   map[uint64]types.ValidatorIndex
	submitted map[string]bool
	validate  func(b types.CommittedBlock, prev *types.CommittedBlock) error
}

func newOracle(validate func(types.CommittedBlock, *types.CommittedBlock) error) *oracle {
	return &oracle{
		byHeight:  make(map[uint64]types.BlockID),
		firstBy:   make(map[uint64]types.ValidatorIndex),
		submitted: make(map[string]bool),
		validate:  validate,
	}
}

func (o *oracle) submit(tx types.Tx) { o.submitted[string(tx)] = true }

// checkCommit checks block b committed by honest node i after prev (nil
// for the first block). It returns what is wrong, or "".
func (o *oracle) checkCommit(i types.ValidatorIndex, b types.CommittedBlock, prevHeight uint64, prev *types.CommittedBlock) string {
	h := b.Block.GetHeight()
	if h != prevHeight+1 {
		return fmt.Sprintf("committed height %d after height %d: a gap or a rewrite", h, prevHeight)
	}
	if b.ID != b.Block.ID() {
		return fmt.Sprintf("committed block at height %d under ID %v, but its contents hash to %v", h, b.ID, b.Block.ID())
	}
	if id, ok := o.byHeight[h]; ok && id != b.ID {
		return fmt.Sprintf("agreement: node %d committed %v at height %d, node %d committed %v", i, b.ID, h, o.firstBy[h], id)
	}
	o.byHeight[h], o.firstBy[h] = b.ID, i
	for k, tx := range b.Block.Txs {
		if !o.submitted[string(tx)] {
			return fmt.Sprintf("validity: height %d tx %d (%q) was never submitted", h, k, truncate(tx))
		}
	}
	if o.validate != nil {
		if err := o.validate(b, prev); err != nil {
			return fmt.Sprintf("protocol rule at height %d: %v", h, err)
		}
	}
	return ""
}

func truncate(b []byte) string {
	if len(b) > 24 {
		return string(b[:24]) + "..."
	}
	return string(b)
}

// ParentLinked is a Protocol.Validate for chained protocols: each committed
// block names its predecessor as its parent (the first names the zero ID),
// so a node whose own history forks is caught.
func ParentLinked(b types.CommittedBlock, prev *types.CommittedBlock) error {
	var want types.BlockID
	if prev != nil {
		want = prev.ID
	}
	if b.Block.ParentID != want {
		return fmt.Errorf("parent %v, want %v", b.Block.ParentID, want)
	}
	return nil
}
