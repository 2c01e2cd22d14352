package types

import (
	"crypto/sha256"
	"errors"
	"fmt"
)

// MaxPBFTWindow bounds the PBFT watermark window L, and so the prepared
// certificates one view-change may carry.
const MaxPBFTWindow = 1024

func (*PBFTViewChange) MsgType() MsgType         { return MsgPBFTViewChange }
func (v *PBFTViewChange) Signer() ValidatorIndex { return v.Replica }

// ValidateBasic checks the shape of the view-change: a checkpoint proof of
// the right phase, prepared certificates with distinct sequence numbers
// above the checkpoint and views below the view-change's, and the
// signature length. Signatures are the gateway's.
func (v *PBFTViewChange) ValidateBasic() error {
	if v.View == 0 {
		return errors.New("view-change: view 0 is the initial view")
	}
	stable := uint64(0)
	if v.Stable != nil {
		if err := v.Stable.ValidateBasic(); err != nil {
			return fmt.Errorf("view-change: stable: %w", err)
		}
		if v.Stable.Phase != PhaseCheckpoint {
			return fmt.Errorf("view-change: stable is a %v certificate", v.Stable.Phase)
		}
		stable = v.Stable.Seq
	}
	if len(v.Prepared) > MaxPBFTWindow {
		return fmt.Errorf("view-change: %d prepared certificates exceed the window limit %d", len(v.Prepared), MaxPBFTWindow)
	}
	seen := make(map[uint64]bool, len(v.Prepared))
	for k, p := range v.Prepared {
		if err := p.ValidateBasic(); err != nil {
			return fmt.Errorf("view-change: prepared[%d]: %w", k, err)
		}
		if p.Seq <= stable || p.Seq > stable+MaxPBFTWindow {
			return fmt.Errorf("view-change: prepared[%d] seq %d is outside (%d, %d]", k, p.Seq, stable, stable+MaxPBFTWindow)
		}
		if p.View >= v.View {
			return fmt.Errorf("view-change: prepared[%d] view %d is not below %d", k, p.View, v.View)
		}
		if seen[p.Seq] {
			return fmt.Errorf("view-change: prepared[%d] repeats seq %d", k, p.Seq)
		}
		seen[p.Seq] = true
	}
	return checkSignatureLen(v.Signature)
}

// StableSeq is the sequence number of the carried checkpoint (0: genesis).
func (v *PBFTViewChange) StableSeq() uint64 { return v.GetStable().GetSeq() }

// BodyHash is the hash a view-change's signature covers: the message with
// its signature field empty. gogoproto encodes fields in order and has no
// maps here, so the encoding is deterministic.
func (v *PBFTViewChange) BodyHash() ([]byte, error) {
	c := *v
	c.Signature = nil
	return hashMarshal(c.Marshal())
}

// ValidateBasic checks that a prepared certificate matches its prepares
// on view, sequence number and digest.
func (p *PBFTPrepared) ValidateBasic() error {
	if p.Seq == 0 {
		return errors.New("prepared: seq 0 belongs to genesis")
	}
	if err := checkSignatureLen(p.PrePrepareSignature); err != nil {
		return fmt.Errorf("prepared: pre-prepare %w", err)
	}
	if err := p.Prepares.ValidateBasic(); err != nil {
		return fmt.Errorf("prepared: %w", err)
	}
	c := p.Prepares
	if c.Phase != PhasePrepare || c.View != p.View || c.Seq != p.Seq || c.Digest != p.Digest {
		return fmt.Errorf("prepared: certificate for %v (view %d, seq %d, %v) does not match (view %d, seq %d, %v)",
			c.Phase, c.View, c.Seq, c.Digest, p.View, p.Seq, p.Digest)
	}
	return nil
}

func (*PBFTNewView) MsgType() MsgType         { return MsgPBFTNewView }
func (n *PBFTNewView) Signer() ValidatorIndex { return n.Primary }

// ValidateBasic checks each view-change is for this view and from a
// distinct replica, that O lists distinct sequence numbers in order, and
// the signature length. Recomputing O is the engine's (Castro-Liskov
// §4.4: backups never trust it).
func (n *PBFTNewView) ValidateBasic() error {
	if n.View == 0 {
		return errors.New("new-view: view 0 is the initial view")
	}
	if len(n.ViewChanges) > MaxValidators {
		return fmt.Errorf("new-view: %d view-changes exceed %d", len(n.ViewChanges), MaxValidators)
	}
	seen := make(map[ValidatorIndex]bool, len(n.ViewChanges))
	for k, vc := range n.ViewChanges {
		if err := vc.ValidateBasic(); err != nil {
			return fmt.Errorf("new-view: view_changes[%d]: %w", k, err)
		}
		if vc.View != n.View {
			return fmt.Errorf("new-view: view_changes[%d] is for view %d, not %d", k, vc.View, n.View)
		}
		if seen[vc.Replica] {
			return fmt.Errorf("new-view: view_changes[%d] repeats replica %d", k, vc.Replica)
		}
		seen[vc.Replica] = true
	}
	if len(n.PrePrepares) > MaxPBFTWindow {
		return fmt.Errorf("new-view: %d pre-prepares exceed the window limit %d", len(n.PrePrepares), MaxPBFTWindow)
	}
	for k, o := range n.PrePrepares {
		if o.Seq == 0 || (k > 0 && o.Seq != n.PrePrepares[k-1].Seq+1) {
			return fmt.Errorf("new-view: pre_prepares[%d] seq %d breaks the consecutive order", k, o.Seq)
		}
		if o.Digest.IsZero() {
			return fmt.Errorf("new-view: pre_prepares[%d] has a zero digest", k)
		}
		if err := checkSignatureLen(o.Signature); err != nil {
			return fmt.Errorf("new-view: pre_prepares[%d]: %w", k, err)
		}
	}
	return checkSignatureLen(n.Signature)
}

// BodyHash is the hash a new-view's signature covers (see
// PBFTViewChange.BodyHash).
func (n *PBFTNewView) BodyHash() ([]byte, error) {
	c := *n
	c.Signature = nil
	return hashMarshal(c.Marshal())
}

func hashMarshal(data []byte, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(data)
	return h[:], nil
}
