package types

import (
	"errors"
	"fmt"

	"github.com/bftkit/bftkit/crypto"
)

// This file makes each wire message a Payload: its type, its signer, and
// ValidateBasic, the stateless checks run at the gateway.

func checkSignatureLen(sig []byte) error {
	if len(sig) != crypto.SignatureSize {
		return fmt.Errorf("signature is %d bytes, want %d", len(sig), crypto.SignatureSize)
	}
	return nil
}

func (*Proposal) MsgType() MsgType { return MsgHotStuffProposal }

// Signer is the proposer named in the block (zero if the block is missing,
// which ValidateBasic rejects).
func (p *Proposal) Signer() ValidatorIndex { return p.GetBlock().GetProposer() }

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
		if err := p.Tc.ValidateBasic(); err != nil {
			return fmt.Errorf("proposal: %w", err)
		}
		if p.Tc.View >= p.Block.View {
			return fmt.Errorf("proposal: tc view %d is not below the block's view %d", p.Tc.View, p.Block.View)
		}
	}
	return checkSignatureLen(p.Signature)
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
	return checkSignatureLen(p.Signature)
}

func (*PBFTVote) MsgType() MsgType         { return MsgPBFTVote }
func (v *PBFTVote) Signer() ValidatorIndex { return v.Replica }

func (v *PBFTVote) ValidateBasic() error {
	if v.Phase == PhaseUnknown || PBFTPhase_name[int32(v.Phase)] == "" {
		return fmt.Errorf("pbft vote: unknown phase %d", v.Phase)
	}
	if v.Seq == 0 {
		return errors.New("pbft vote: seq 0 belongs to genesis")
	}
	if v.Phase == PhaseCheckpoint && v.View != 0 {
		return errors.New("pbft vote: a checkpoint carries no view")
	}
	return checkSignatureLen(v.Signature)
}
