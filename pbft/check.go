package pbft

import (
	"errors"
	"fmt"

	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// CheckReady is the simulator's oracle for one honest replica's Ready
// (sim.Protocol.CheckReady), given the safety state it had durably stored
// before (nil at first start). It checks that
//   - the safety state only moves forward: the view never falls, the
//     stable checkpoint never falls, and an accepted pre-prepare never
//     changes its digest within its view;
//   - prepared certificates above the stable checkpoint are never lost or
//     replaced by older ones, and every view-change leaving carries them
//     all as P;
//   - every prepare, commit, pre-prepare, view-change and new-view leaving
//     is covered by the safety state stored with this Ready, so that a
//     replica restarted from it cannot send a conflicting one;
//   - every certificate it stores, sends or commits with verifies: the
//     stable checkpoint proof, prepared certificates, and commit proofs.
func CheckReady(v *qc.Verifier, durable []byte, rd *types.Ready) error {
	prev, err := decodeSafety(durable)
	if err != nil {
		return err
	}
	cur := prev
	if rd.SafetyState != nil {
		if cur, err = decodeSafety(rd.SafetyState); err != nil {
			return err
		}
		if err := checkForward(prev, cur); err != nil {
			return err
		}
		if err := checkStoredCerts(v, prev, cur); err != nil {
			return fmt.Errorf("safety state: %w", err)
		}
	}
	slots := make(map[uint64]*types.PBFTSlot, len(cur.Slots))
	for _, s := range cur.Slots {
		slots[s.Seq] = s
	}
	for _, m := range rd.Messages {
		if err := checkCovered(v, cur, slots, m.Payload); err != nil {
			return fmt.Errorf("outbound %v: %w", m.Payload.MsgType(), err)
		}
	}
	for _, cb := range rd.Committed {
		if err := checkCommitProof(v, cb); err != nil {
			return fmt.Errorf("committed block %d: %w", cb.Block.GetHeight(), err)
		}
	}
	return nil
}

func checkForward(prev, cur *types.PBFTSafety) error {
	if cur.View < prev.View {
		return fmt.Errorf("view fell from %d to %d", prev.View, cur.View)
	}
	if cur.Stable.GetSeq() < prev.Stable.GetSeq() {
		return fmt.Errorf("stable checkpoint fell from %d to %d", prev.Stable.GetSeq(), cur.Stable.GetSeq())
	}
	now := make(map[uint64]*types.PBFTSlot, len(cur.Slots))
	for _, s := range cur.Slots {
		now[s.Seq] = s
	}
	for _, p := range prev.Slots {
		c := now[p.Seq]
		if p.Prepared != nil && p.Seq > cur.Stable.GetSeq() && (c == nil || c.Prepared == nil || c.Prepared.View < p.Prepared.View) {
			// P is what carries a prepared request across a view change.
			return fmt.Errorf("the prepared certificate for %d (view %d) was lost or replaced by an older one", p.Seq, p.Prepared.View)
		}
		if len(p.PrePrepareSignature) == 0 || c == nil || c.PrePrepareView != p.PrePrepareView {
			continue
		}
		if c.Digest != p.Digest {
			return fmt.Errorf("accepted pre-prepare (%d, %d) changed digest from %v to %v", p.PrePrepareView, p.Seq, p.Digest, c.Digest)
		}
	}
	return nil
}

// checkPreparedSet checks that a view-change this replica sends carries, as
// P, every prepared certificate it stored above the view-change's
// checkpoint.
func checkPreparedSet(st *types.PBFTSafety, vc *types.PBFTViewChange) error {
	sent := make(map[uint64]*types.PBFTPrepared, len(vc.Prepared))
	for _, p := range vc.Prepared {
		sent[p.Seq] = p
	}
	for _, s := range st.Slots {
		if s.Prepared == nil || s.Seq <= vc.StableSeq() {
			continue
		}
		if p := sent[s.Seq]; p == nil || p.View != s.Prepared.View || p.Digest != s.Prepared.Digest {
			return fmt.Errorf("view-change for view %d leaves out the prepared certificate for %d (view %d): %w", vc.View, s.Seq, s.Prepared.View, errNotCovered)
		}
	}
	return nil
}

// checkStoredCerts verifies the certificates that are new in cur.
func checkStoredCerts(v *qc.Verifier, prev, cur *types.PBFTSafety) error {
	if cur.Stable != nil && !cur.Stable.Equal(prev.Stable) {
		if err := v.VerifyPBFTCert(cur.Stable, v.Quorum()); err != nil {
			return fmt.Errorf("stable checkpoint: %w", err)
		}
	}
	old := make(map[uint64]*types.PBFTPrepared, len(prev.Slots))
	for _, s := range prev.Slots {
		old[s.Seq] = s.Prepared
	}
	for _, s := range cur.Slots {
		if s.Prepared != nil && !s.Prepared.Equal(old[s.Seq]) {
			if err := verifyPrepared(v, s.Prepared); err != nil {
				return fmt.Errorf("prepared %d: %w", s.Seq, err)
			}
		}
	}
	return nil
}

var errNotCovered = errors.New("not covered by the stored safety state")

// checkCovered checks that a message this replica signed follows from the
// safety state stored with it, and that certificates it carries verify.
//
// A message for a number at or below the stored stable checkpoint needs no
// cover: the log there was discarded in the same Ready, and a restarted
// replica accepts nothing at or below its stable checkpoint.
func checkCovered(v *qc.Verifier, st *types.PBFTSafety, slots map[uint64]*types.PBFTSlot, p types.Payload) error {
	if seq, ok := slotSeq(p); ok && seq <= st.Stable.GetSeq() {
		return nil
	}
	switch m := p.(type) {
	case *types.PBFTPrePrepare:
		return coveredPrePrepare(slots[m.Seq], m.View, m.Seq, m.Block.ID())
	case *types.PBFTVote:
		s := slots[m.Seq]
		switch m.Phase {
		case types.PhasePrepare:
			return coveredPrePrepare(s, m.View, m.Seq, m.Digest)
		case types.PhaseCommit:
			if s == nil || s.Prepared == nil || s.Prepared.View != m.View || s.Prepared.Digest != m.Digest {
				return fmt.Errorf("commit (%d, %d, %v) without a prepared certificate: %w", m.View, m.Seq, m.Digest, errNotCovered)
			}
		}
		return nil
	case *types.PBFTViewChange:
		if st.View < m.View || (m.View == st.View && !m.Equal(st.ViewChange) && st.ViewChanging) {
			return fmt.Errorf("view-change for view %d, stored view %d: %w", m.View, st.View, errNotCovered)
		}
		if err := checkPreparedSet(st, m); err != nil {
			return err
		}
		return verifyViewChange(v, m)
	case *types.PBFTNewView:
		if st.View < m.View {
			return fmt.Errorf("new-view for view %d, stored view %d: %w", m.View, st.View, errNotCovered)
		}
		for _, o := range m.PrePrepares {
			if o.Seq > st.Stable.GetSeq() && m.View == st.View {
				if err := coveredPrePrepare(slots[o.Seq], m.View, o.Seq, o.Digest); err != nil {
					return err
				}
			}
		}
		return verifyNewView(v, m)
	}
	return nil
}

// slotSeq is the sequence number of a pre-prepare, prepare or commit.
func slotSeq(p types.Payload) (uint64, bool) {
	switch m := p.(type) {
	case *types.PBFTPrePrepare:
		return m.Seq, true
	case *types.PBFTVote:
		return m.Seq, m.Phase != types.PhaseCheckpoint
	}
	return 0, false
}

func coveredPrePrepare(s *types.PBFTSlot, view, seq uint64, d types.BlockID) error {
	if s == nil || len(s.PrePrepareSignature) == 0 || s.PrePrepareView != view || s.Digest != d {
		return fmt.Errorf("(%d, %d, %v) without that accepted pre-prepare: %w", view, seq, d, errNotCovered)
	}
	return nil
}

// checkCommitProof verifies the certificate a block is committed with.
func checkCommitProof(v *qc.Verifier, cb types.CommittedBlock) error {
	p, err := DecodeProof(cb.Proof)
	if err != nil {
		return err
	}
	c := p.Commit
	if c.Phase != types.PhaseCommit || c.Seq != cb.Block.Height || c.Digest != cb.ID {
		return fmt.Errorf("proof is a %v certificate for (%d, %v)", c.Phase, c.Seq, c.Digest)
	}
	return v.VerifyPBFTCert(c, v.Quorum())
}

// ValidateCommitted is the simulator's per-block check for PBFT
// (sim.Protocol.Validate): blocks do not chain by parent, and each carries a
// commit proof for its own height and ID.
func ValidateCommitted(b types.CommittedBlock, _ *types.CommittedBlock) error {
	if !b.Block.ParentID.IsZero() {
		return fmt.Errorf("a PBFT block names parent %v", b.Block.ParentID)
	}
	p, err := DecodeProof(b.Proof)
	if err != nil {
		return err
	}
	if p.Commit.Seq != b.Block.Height || p.Commit.Digest != b.ID {
		return fmt.Errorf("proof for (%d, %v)", p.Commit.Seq, p.Commit.Digest)
	}
	return nil
}
