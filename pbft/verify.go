package pbft

import (
	"fmt"

	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// VerifyMessage is the gateway check for PBFT messages, run before Step.
// The codec already checked shape and that the sender is the signer; this
// checks signatures and certificates:
//   - a pre-prepare: from the primary of its view, signed over (view, seq,
//     block ID);
//   - a prepare, commit or checkpoint: the replica's signature;
//   - a view-change: its signature, its checkpoint proof (2f+1), and each
//     prepared certificate (the pre-prepare by that view's primary and 2f
//     prepares by other replicas);
//   - a new-view: from the primary of its view, its signature, every
//     view-change in V as above, and O's pre-prepare signatures;
//   - a block response with a proof (a committed block fetched by
//     height): the proof's commit certificate (2f+1), for exactly this
//     block;
//   - block requests and responses without a proof are unsigned: the
//     engine takes such a block only by a digest it asked for.
//
// window is the engine's L: before verifying any signature, a view-change
// (alone or inside a new-view) with more prepared certificates than L, or
// one above its checkpoint + L, is refused, so that one message cannot
// make the gateway verify thousands of signatures.
func VerifyMessage(v *qc.Verifier, window uint64, m types.Message) error {
	switch p := m.Payload.(type) {
	case *types.PBFTPrePrepare:
		if want := Primary(p.View, v.N()); p.Primary != want {
			return fmt.Errorf("pre-prepare for view %d from %d, whose primary is %d", p.View, p.Primary, want)
		}
		return v.VerifySignature(p.Primary, types.PrePrepareSignBytes(v.ChainID(), p.View, p.Seq, p.Block.ID()), p.Signature)
	case *types.PBFTVote:
		return v.VerifySignature(p.Replica, types.PBFTVoteSignBytes(v.ChainID(), p.Phase, p.View, p.Seq, p.Digest), p.Signature)
	case *types.PBFTViewChange:
		if err := inWindow(p, window); err != nil {
			return err
		}
		return verifyViewChange(v, p)
	case *types.PBFTNewView:
		for _, vc := range p.ViewChanges {
			if err := inWindow(vc, window); err != nil {
				return fmt.Errorf("new-view: %w", err)
			}
		}
		if uint64(len(p.PrePrepares)) > window {
			return fmt.Errorf("new-view: %d pre-prepares exceed the window L = %d", len(p.PrePrepares), window)
		}
		return verifyNewView(v, p)
	case *types.BlockResponse:
		if len(p.Proof) == 0 {
			return nil
		}
		return verifyCommitted(v, p.Block, p.Proof)
	case *types.BlockRequest:
		return nil
	}
	return fmt.Errorf("pbft: %v is not a PBFT message", m.Payload.MsgType())
}

// inWindow checks a view-change's prepared certificates against the
// window, without verifying anything.
func inWindow(vc *types.PBFTViewChange, window uint64) error {
	if uint64(len(vc.Prepared)) > window {
		return fmt.Errorf("view-change by %d: %d prepared certificates exceed the window L = %d", vc.Replica, len(vc.Prepared), window)
	}
	for _, p := range vc.Prepared {
		if p.Seq > vc.StableSeq()+window {
			return fmt.Errorf("view-change by %d: prepared seq %d is above its checkpoint %d + L = %d", vc.Replica, p.Seq, vc.StableSeq(), window)
		}
	}
	return nil
}

func verifyViewChange(v *qc.Verifier, vc *types.PBFTViewChange) error {
	h, err := vc.BodyHash()
	if err != nil {
		return err
	}
	if err := v.VerifySignature(vc.Replica, types.ViewChangeSignBytes(v.ChainID(), vc.View, h), vc.Signature); err != nil {
		return fmt.Errorf("view-change by %d: %w", vc.Replica, err)
	}
	if vc.Stable != nil {
		if err := v.VerifyPBFTCert(vc.Stable, v.Quorum()); err != nil {
			return fmt.Errorf("view-change by %d: checkpoint proof: %w", vc.Replica, err)
		}
	}
	for k, p := range vc.Prepared {
		if err := verifyPrepared(v, p); err != nil {
			return fmt.Errorf("view-change by %d: prepared[%d]: %w", vc.Replica, k, err)
		}
	}
	return nil
}

// verifyPrepared checks a prepared certificate (§4.2): the pre-prepare
// signed by the primary of its view, and quorum−1 = 2f prepares from
// distinct replicas other than that primary.
func verifyPrepared(v *qc.Verifier, p *types.PBFTPrepared) error {
	primary := Primary(p.View, v.N())
	if err := v.VerifySignature(primary, types.PrePrepareSignBytes(v.ChainID(), p.View, p.Seq, p.Digest), p.PrePrepareSignature); err != nil {
		return fmt.Errorf("pre-prepare: %w", err)
	}
	for _, s := range p.Prepares.Signers {
		if s == primary {
			return fmt.Errorf("prepares include the primary %d", primary)
		}
	}
	return v.VerifyPBFTCert(p.Prepares, v.Quorum()-1)
}

func verifyNewView(v *qc.Verifier, nv *types.PBFTNewView) error {
	if want := Primary(nv.View, v.N()); nv.Primary != want {
		return fmt.Errorf("new-view for view %d from %d, whose primary is %d", nv.View, nv.Primary, want)
	}
	h, err := nv.BodyHash()
	if err != nil {
		return err
	}
	if err := v.VerifySignature(nv.Primary, types.NewViewSignBytes(v.ChainID(), nv.View, h), nv.Signature); err != nil {
		return fmt.Errorf("new-view: %w", err)
	}
	for _, vc := range nv.ViewChanges {
		if err := verifyViewChange(v, vc); err != nil {
			return fmt.Errorf("new-view: %w", err)
		}
	}
	for k, o := range nv.PrePrepares {
		if err := v.VerifySignature(nv.Primary, types.PrePrepareSignBytes(v.ChainID(), nv.View, o.Seq, o.Digest), o.Signature); err != nil {
			return fmt.Errorf("new-view: pre_prepares[%d]: %w", k, err)
		}
	}
	return nil
}

// verifyCommitted checks that proof, a stored PBFTCommitProof, proves b
// committed: a commit certificate for b's height and ID, signed by 2f+1
// distinct replicas. The proof's history digest is not signed and is not
// trusted: the engine recomputes its own.
func verifyCommitted(v *qc.Verifier, b *types.Block, proof []byte) error {
	p, err := DecodeProof(proof)
	if err != nil {
		return err
	}
	c := p.Commit
	if err := c.ValidateBasic(); err != nil {
		return fmt.Errorf("committed block: %w", err)
	}
	if c.Phase != types.PhaseCommit || c.Seq != b.Height || c.Digest != b.ID() {
		return fmt.Errorf("committed block: a %v certificate for seq %d, %v does not prove block %v at height %d",
			c.Phase, c.Seq, c.Digest, b.ID(), b.Height)
	}
	return v.VerifyPBFTCert(c, v.Quorum())
}
