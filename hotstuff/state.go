package hotstuff

import (
	"fmt"

	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// decodeSafety reads the durable safety state; empty means first start.
func decodeSafety(b []byte) (types.HotStuffSafety, error) {
	var s types.HotStuffSafety
	if len(b) == 0 {
		return s, nil
	}
	if err := s.Unmarshal(b); err != nil {
		return s, fmt.Errorf("hotstuff: corrupt safety state: %w", err)
	}
	return s, nil
}

// CheckReady checks a Ready against the safety state that was durable
// before it (the simulator's oracle calls it on every honest Ready):
//   - every QC the replica stores (high, locked) or sends (in a proposal
//     or timeout) has a quorum of distinct valid signers (the simulator oracle's invariants; see docs/ARCHITECTURE.md);
//   - last voted view, locked QC view and high QC view never decrease;
//   - every vote, proposal and timeout leaving is covered by the safety
//     state of this Ready or the durable one: a vote for view v only if
//     last_voted_view ≥ v, a proposal only if proposed_view ≥ v, a timeout
//     only if timeout_view ≥ v.
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
		if err := checkMonotone(prev, cur); err != nil {
			return err
		}
		if err := checkQCs(v, cur.HighQc, cur.LockedQc); err != nil {
			return fmt.Errorf("safety state: %w", err)
		}
	}
	for _, m := range rd.Messages {
		if err := checkCovered(cur, m.Payload); err != nil {
			return err
		}
		if err := checkCertificates(v, m.Payload); err != nil {
			return fmt.Errorf("outbound %v: %w", m.Payload.MsgType(), err)
		}
	}
	return nil
}

// checkCertificates verifies every QC and TC an outbound message carries.
func checkCertificates(v *qc.Verifier, p types.Payload) error {
	var tc *types.TimeoutCert
	switch m := p.(type) {
	case *types.Proposal:
		if err := checkQCs(v, m.Block.Justify); err != nil {
			return err
		}
		tc = m.Tc
	case *types.Timeout:
		if err := checkQCs(v, m.HighQc, m.LatestQc); err != nil {
			return err
		}
		tc = m.LastTc
	}
	if tc != nil {
		return v.VerifyTC(tc)
	}
	return nil
}

// checkQCs verifies certificates; nil stands for genesis.
func checkQCs(v *qc.Verifier, qcs ...*types.QuorumCert) error {
	for _, q := range qcs {
		if q == nil {
			continue
		}
		if err := v.VerifyQC(q); err != nil {
			return err
		}
	}
	return nil
}

func checkMonotone(prev, cur types.HotStuffSafety) error {
	switch {
	case cur.LastVotedView < prev.LastVotedView:
		return fmt.Errorf("last voted view went back from %d to %d", prev.LastVotedView, cur.LastVotedView)
	case qcView(cur.LockedQc) < qcView(prev.LockedQc):
		return fmt.Errorf("locked QC went back from view %d to %d", qcView(prev.LockedQc), qcView(cur.LockedQc))
	case qcView(cur.HighQc) < qcView(prev.HighQc):
		return fmt.Errorf("high QC went back from view %d to %d", qcView(prev.HighQc), qcView(cur.HighQc))
	case cur.ProposedView < prev.ProposedView:
		return fmt.Errorf("proposed view went back from %d to %d", prev.ProposedView, cur.ProposedView)
	case cur.TimeoutView < prev.TimeoutView:
		return fmt.Errorf("timeout view went back from %d to %d", prev.TimeoutView, cur.TimeoutView)
	}
	return nil
}

func checkCovered(s types.HotStuffSafety, p types.Payload) error {
	switch m := p.(type) {
	case *types.Vote:
		if m.View > s.LastVotedView {
			return fmt.Errorf("vote for view %d leaves before last_voted_view %d covers it", m.View, s.LastVotedView)
		}
	case *types.Proposal:
		if m.Block.View > s.ProposedView {
			return fmt.Errorf("proposal for view %d leaves before proposed_view %d covers it", m.Block.View, s.ProposedView)
		}
	case *types.Timeout:
		if m.View > s.TimeoutView {
			return fmt.Errorf("timeout for view %d leaves before timeout_view %d covers it", m.View, s.TimeoutView)
		}
		if m.View == s.TimeoutView && m.HighQCView() != s.TimeoutHighQcView {
			return fmt.Errorf("timeout for view %d signs high QC view %d, but the durable timeout signed %d", m.View, m.HighQCView(), s.TimeoutHighQcView)
		}
	}
	return nil
}
