package pbft

import (
	"fmt"

	"github.com/bftkit/bftkit/types"
)

// This file encodes what must survive a crash (types.Ready contract) and
// restores it.

func (e *Engine) encodeSafety() []byte {
	st := &types.PBFTSafety{
		View: e.view, ViewChanging: e.changing, ViewChange: e.myVC, Stable: e.stable,
		NextSeq: e.nextSeq, ConsecutiveViewChanges: e.consecutiveVC,
	}
	for _, seq := range e.sortedSeqs() {
		s := e.log[seq]
		if !s.hasPP && s.prepared == nil {
			continue
		}
		ps := &types.PBFTSlot{Seq: seq, Prepared: s.prepared}
		if s.hasPP {
			ps.PrePrepareView, ps.Digest, ps.PrePrepareSignature = s.ppView, s.digest, s.ppSig
		}
		st.Slots = append(st.Slots, ps)
	}
	data, err := st.Marshal()
	if err != nil {
		panic(fmt.Sprintf("pbft: encode safety state: %v", err)) // cannot fail for a built message
	}
	return data
}

func decodeSafety(data []byte) (*types.PBFTSafety, error) {
	st := new(types.PBFTSafety)
	if err := st.Unmarshal(data); err != nil {
		return nil, fmt.Errorf("pbft: safety state: %w", err)
	}
	return st, nil
}

// restoreSafety rebuilds the view, the log and the stable checkpoint. The
// blocks of accepted pre-prepares come from the store; a null block is
// rebuilt; any other missing block is fetched again.
func (e *Engine) restoreSafety(data []byte, blocks map[types.BlockID]*types.Block) error {
	if data == nil {
		return nil
	}
	st, err := decodeSafety(data)
	if err != nil {
		return err
	}
	e.view, e.changing, e.myVC, e.stable = st.View, st.ViewChanging, st.ViewChange, st.Stable
	e.low, e.nextSeq, e.consecutiveVC = st.Stable.GetSeq(), max(st.NextSeq, 1), st.ConsecutiveViewChanges
	if e.myVC != nil {
		e.vcs[e.cfg.ID] = e.myVC
	}
	for _, ps := range st.Slots {
		if !inWatermarks(ps.Seq, e.low, e.cfg.WindowSize) {
			return fmt.Errorf("pbft: safety state: slot %d outside the window above %d", ps.Seq, e.low)
		}
		s := e.slotFor(ps.Seq)
		s.prepared = ps.Prepared
		// Keep the prepared block too, not only the accepted one: a later
		// new-view may re-propose it from this certificate, and peers may
		// have to fetch it from here.
		if p := ps.Prepared; p != nil {
			if b := restoredBlock(blocks, p.Seq, p.Digest); b != nil {
				e.blocks[p.Digest] = b
			}
		}
		if len(ps.PrePrepareSignature) == 0 {
			continue
		}
		s.hasPP, s.ppView, s.digest, s.ppSig = true, ps.PrePrepareView, ps.Digest, ps.PrePrepareSignature
		s.block = restoredBlock(blocks, s.seq, s.digest)
		if s.block != nil {
			e.blocks[s.digest] = s.block
		} else if s.seq > e.executed {
			e.awaitingBlock[s.digest] = &blockFetch{seq: s.seq, peer: e.primary(s.ppView)}
		}
	}
	if e.executed < e.low && e.stable != nil {
		e.startCatchUp(e.low, e.stable.Digest, e.stable.Signers)
	}
	return nil
}

// restoredBlock finds the block with digest d at seq among the stored
// blocks, or rebuilds it if it is the null block.
func restoredBlock(blocks map[types.BlockID]*types.Block, seq uint64, d types.BlockID) *types.Block {
	if b := blocks[d]; b != nil && b.Height == seq {
		return b
	}
	return knownBlock(seq, d)
}

func encodeProof(cert *types.PBFTCert, history types.BlockID) []byte {
	data, err := (&types.PBFTCommitProof{Commit: cert, HistoryDigest: history[:]}).Marshal()
	if err != nil {
		panic(fmt.Sprintf("pbft: encode commit proof: %v", err))
	}
	return data
}

// DecodeProof reads a CommittedBlock.Proof written by this package.
func DecodeProof(data []byte) (*types.PBFTCommitProof, error) {
	p := new(types.PBFTCommitProof)
	if err := p.Unmarshal(data); err != nil {
		return nil, fmt.Errorf("commit proof: %w", err)
	}
	if p.Commit == nil || len(p.HistoryDigest) != len(types.BlockID{}) {
		return nil, fmt.Errorf("commit proof: missing certificate or history digest")
	}
	return p, nil
}
