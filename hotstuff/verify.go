package hotstuff

import (
	"errors"
	"fmt"

	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types"
)

// VerifyMessage is the gateway check for HotStuff messages, run before Step
// (in the node, in parallel; in the simulator, on every delivery). The codec
// already checked shape and that the sender is the signer; this checks
// signatures and certificates:
//   - a proposal: the proposer's signature over (view, block ID), the
//     justify QC (nil only for a block on genesis), and the TC if present;
//   - a vote: the voter's signature over (view, block ID);
//   - a timeout: the sender's signature over (view, high QC view), the
//     high QC, and the latest QC and last TC if present;
//   - block requests and responses are unsigned: the engine accepts a
//     block only by the ID it asked for.
func VerifyMessage(v *qc.Verifier, m types.Message) error {
	switch p := m.Payload.(type) {
	case *types.Proposal:
		return verifyProposal(v, p)
	case *types.Vote:
		return v.VerifySignature(p.Voter, types.VoteSignBytes(v.ChainID(), p.View, p.BlockID), p.Signature)
	case *types.Timeout:
		if err := v.VerifySignature(p.Sender, types.TimeoutSignBytes(v.ChainID(), p.View, p.HighQCView()), p.Signature); err != nil {
			return err
		}
		if p.HighQc != nil {
			if err := v.VerifyQC(p.HighQc); err != nil {
				return fmt.Errorf("high qc: %w", err)
			}
		}
		if p.LatestQc != nil {
			if err := v.VerifyQC(p.LatestQc); err != nil {
				return fmt.Errorf("latest qc: %w", err)
			}
		}
		if p.LastTc != nil {
			if err := v.VerifyTC(p.LastTc); err != nil {
				return fmt.Errorf("last tc: %w", err)
			}
		}
		return nil
	case *types.BlockRequest, *types.BlockResponse:
		return nil
	}
	return fmt.Errorf("hotstuff: %v is not a HotStuff message", m.Payload.MsgType())
}

func verifyProposal(v *qc.Verifier, p *types.Proposal) error {
	b := p.Block
	if err := v.VerifySignature(b.Proposer, types.ProposalSignBytes(v.ChainID(), b.View, b.ID()), p.Signature); err != nil {
		return err
	}
	if b.Justify == nil {
		if !b.ParentID.IsZero() || b.Height != 1 {
			return errors.New("hotstuff: only the first block may extend genesis without a QC")
		}
	} else if err := v.VerifyQC(b.Justify); err != nil {
		return fmt.Errorf("justify: %w", err)
	}
	if p.Tc != nil {
		if err := v.VerifyTC(p.Tc); err != nil {
			return fmt.Errorf("tc: %w", err)
		}
	}
	return nil
}
