package types

import (
	"errors"
	"fmt"

	"github.com/bftkit/bftkit/crypto"
)

// This file makes each wire message a Payload: its type (MsgType), its
// signer (Signer), and ValidateBasic, the stateless checks run at the
// gateway before any signature is verified.

func checkSignatureLen(sig []byte) error {
	if len(sig) != crypto.SignatureSize {
		return fmt.Errorf("signature is %d bytes, want %d", len(sig), crypto.SignatureSize)
	}
	return nil
}

// MsgType is MsgHotStuffProposal.
func (*Proposal) MsgType() MsgType { return MsgHotStuffProposal }

// Signer is the proposer named in the block (zero if the block is missing,
// which ValidateBasic rejects).
func (p *Proposal) Signer() ValidatorIndex { return p.GetBlock().GetProposer() }

// ValidateBasic checks the block, the views of its justify QC and TC, and
// the signature length.
func (p *Proposal) ValidateBasic() error {
	if err := p.Block.ValidateBasic(); err != nil {
		return err
	}
	if p.Block.View == 0 {
		return errors.New("proposal: view 0 belongs to genesis")
	}
	if p.Block.Justify != nil && p.Block.Justify.View >= p.Block.View {
		return fmt.Errorf("proposal: justify view %d is not below the block's view %d", p.Block.Justify.View, p.Block.View)
	}
	if p.Tc != nil {
		if err := p.validateTC(); err != nil {
			return err
		}
	}
	return checkSignatureLen(p.Signature)
}

// validateTC checks the stateless part of the Jolteon rule: a proposal that
// follows a TC must extend the highest QC any TC signer reported.
func (p *Proposal) validateTC() error {
	if err := p.Tc.ValidateBasic(); err != nil {
		return fmt.Errorf("proposal: %w", err)
	}
	if p.Tc.View >= p.Block.View {
		return fmt.Errorf("proposal: tc view %d is not below the block's view %d", p.Tc.View, p.Block.View)
	}
	if hq, justify := p.Tc.HighestQCView(), p.Block.GetJustify().GetView(); justify < hq {
		return fmt.Errorf("proposal: justify view %d is below the tc's highest qc view %d", justify, hq)
	}
	return nil
}

func (*Vote) MsgType() MsgType         { return MsgHotStuffVote }
func (v *Vote) Signer() ValidatorIndex { return v.Voter }

func (v *Vote) ValidateBasic() error {
	if v.View == 0 {
		return errors.New("vote: view 0 belongs to genesis")
	}
	if v.BlockID.IsZero() {
		return errors.New("vote: zero block id")
	}
	return checkSignatureLen(v.Signature)
}

func (*Timeout) MsgType() MsgType         { return MsgHotStuffTimeout }
func (t *Timeout) Signer() ValidatorIndex { return t.Sender }

// HighQCView is the view of the carried high QC; 0 (genesis) if none.
func (t *Timeout) HighQCView() uint64 { return t.GetHighQc().GetView() }

// ValidateBasic checks the view, the high QC's shape and view, and the
// signature length.
func (t *Timeout) ValidateBasic() error {
	if t.View == 0 {
		return errors.New("timeout: view 0 belongs to genesis")
	}
	if t.HighQc != nil {
		if err := t.HighQc.ValidateBasic(); err != nil {
			return fmt.Errorf("timeout: high qc: %w", err)
		}
		if t.HighQc.View >= t.View {
			return fmt.Errorf("timeout: high qc view %d is not below the timeout's view %d", t.HighQc.View, t.View)
		}
	}
	if t.LatestQc != nil {
		if err := t.LatestQc.ValidateBasic(); err != nil {
			return fmt.Errorf("timeout: latest qc: %w", err)
		}
		if t.LatestQc.View >= t.View {
			return fmt.Errorf("timeout: latest qc view %d is not below the timeout's view %d", t.LatestQc.View, t.View)
		}
	}
	if t.LastTc != nil {
		if err := t.LastTc.ValidateBasic(); err != nil {
			return fmt.Errorf("timeout: last tc: %w", err)
		}
		if t.LastTc.View >= t.View {
			return fmt.Errorf("timeout: last tc view %d is not below the timeout's view %d", t.LastTc.View, t.View)
		}
	}
	return checkSignatureLen(t.Signature)
}

func (*PBFTPrePrepare) MsgType() MsgType         { return MsgPBFTPrePrepare }
func (p *PBFTPrePrepare) Signer() ValidatorIndex { return p.Primary }

func (p *PBFTPrePrepare) ValidateBasic() error {
	if err := p.Block.ValidateBasic(); err != nil {
		return err
	}
	if p.Seq != p.Block.Height {
		return fmt.Errorf("pre-prepare: seq %d is not the block height %d", p.Seq, p.Block.Height)
	}
	if p.View != p.Block.View {
		return fmt.Errorf("pre-prepare: view %d is not the block's view %d", p.View, p.Block.View)
	}
	if p.Primary != p.Block.Proposer {
		return fmt.Errorf("pre-prepare: primary %d is not the block's proposer %d", p.Primary, p.Block.Proposer)
	}
	if p.Block.Justify != nil {
		return errors.New("pre-prepare: a PBFT block carries no justify qc")
	}

	return checkSignatureLen(p.Signature)
}

func (*PBFTVote) MsgType() MsgType         { return MsgPBFTVote }
func (v *PBFTVote) Signer() ValidatorIndex { return v.Replica }

func (v *PBFTVote) ValidateBasic() error {
	if err := validatePBFTSlot(v.Phase, v.View, v.Seq); err != nil {
		return fmt.Errorf("pbft vote: %w", err)
	}
	return checkSignatureLen(v.Signature)
}

// validatePBFTSlot checks what every PBFT vote and certificate must satisfy:
// a known phase, a sequence number above genesis, and no view on a
// checkpoint (checkpoints are about state, not views).
func validatePBFTSlot(phase PBFTPhase, view, seq uint64) error {
	if phase == PhaseUnknown || PBFTPhase_name[int32(phase)] == "" {
		return fmt.Errorf("unknown phase %d", phase)
	}
	if seq == 0 {
		return errors.New("seq 0 belongs to genesis")
	}
	if phase == PhaseCheckpoint && view != 0 {
		return errors.New("a checkpoint carries no view")
	}
	return nil
}

// MaxBlockRequestAncestors bounds how many blocks one request may ask
// for, by ID (ancestors) or by height (count).
const MaxBlockRequestAncestors = 64

// MaxProofBytes bounds a committed block's proof on the wire: a PBFT
// commit certificate of 2f+1 of MaxValidators signatures fits.
const MaxProofBytes = 256 << 10

// MsgType is MsgBlockRequest.
func (*BlockRequest) MsgType() MsgType { return MsgBlockRequest }

// Signer is the requester (the request is not signed).
func (r *BlockRequest) Signer() ValidatorIndex { return r.Sender }

// ValidateBasic checks that the request asks by ID or by height, not
// both, and the bound on the blocks it asks for.
func (r *BlockRequest) ValidateBasic() error {
	if r.ByHeight() {
		switch {
		case !r.BlockID.IsZero() || r.Ancestors != 0:
			return errors.New("block request: asks both by height and by ID")
		case r.FromHeight == 0:
			return errors.New("block request: height 0 is genesis")
		case r.Count > MaxBlockRequestAncestors:
			return fmt.Errorf("block request: %d blocks, want 1..%d", r.Count, MaxBlockRequestAncestors)
		}
		return nil
	}
	if r.BlockID.IsZero() {
		return errors.New("block request: zero block id")
	}
	if r.FromHeight != 0 {
		return errors.New("block request: a height without a count")
	}
	if r.Ancestors == 0 || r.Ancestors > MaxBlockRequestAncestors {
		return fmt.Errorf("block request: %d blocks, want 1..%d", r.Ancestors, MaxBlockRequestAncestors)
	}
	return nil
}

// ByHeight reports whether r asks for committed blocks by height rather
// than for a block by ID.
func (r *BlockRequest) ByHeight() bool { return r.Count > 0 }

// Blocks is how many blocks r may be answered with.
func (r *BlockRequest) Blocks() uint32 {
	if r.ByHeight() {
		return r.Count
	}
	return r.Ancestors
}

// MsgType is MsgBlockResponse.
func (*BlockResponse) MsgType() MsgType { return MsgBlockResponse }

// Signer is the responder (the response is not signed).
func (r *BlockResponse) Signer() ValidatorIndex { return r.Sender }

// ValidateBasic checks the block and the proof's size; what the proof
// proves is the protocol's gateway check.
func (r *BlockResponse) ValidateBasic() error {
	if len(r.Proof) > MaxProofBytes {
		return fmt.Errorf("block response: a %d-byte proof exceeds %d", len(r.Proof), MaxProofBytes)
	}
	return r.Block.ValidateBasic()
}
