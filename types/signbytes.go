package types

import (
	"fmt"

	"github.com/bftkit/bftkit/canonical"
)

// Domain tags: one per kind of signed message. Each sign-bytes string starts
// with its tag and the chain ID (package canonical), so a signature is valid
// for exactly one kind of message on exactly one chain.
const (
	DomainBlockHeader = "bftkit/block-header/v1" // hashed, not signed
	DomainProposal    = "bftkit/hotstuff/proposal/v1"
	DomainVote        = "bftkit/hotstuff/vote/v1"
	DomainTimeout     = "bftkit/hotstuff/timeout/v1"
	DomainPrePrepare  = "bftkit/pbft/pre-prepare/v1"
	DomainPrepare     = "bftkit/pbft/prepare/v1"
	DomainCommit      = "bftkit/pbft/commit/v1"
	DomainCheckpoint  = "bftkit/pbft/checkpoint/v1"
	DomainViewChange  = "bftkit/pbft/view-change/v1"
	DomainNewView     = "bftkit/pbft/new-view/v1"
)

// ProposalSignBytes is what a HotStuff leader signs for its block.
func ProposalSignBytes(chainID string, view uint64, id BlockID) []byte {
	return canonical.New(DomainProposal, chainID).Uint64(view).Fixed(id[:]).Sum()
}

// VoteSignBytes is what a HotStuff replica signs to vote for a block; a QC
// aggregates a quorum of signatures over exactly these bytes.
func VoteSignBytes(chainID string, view uint64, id BlockID) []byte {
	return canonical.New(DomainVote, chainID).Uint64(view).Fixed(id[:]).Sum()
}

// TimeoutSignBytes is what a HotStuff replica signs to leave a view. It binds
// the view of the sender's high QC, so that a TC proves which QC its
// signers knew (Jolteon §4; DiemBFT v4 §4.2).
func TimeoutSignBytes(chainID string, view, highQCView uint64) []byte {
	return canonical.New(DomainTimeout, chainID).Uint64(view).Uint64(highQCView).Sum()
}

// PrePrepareSignBytes is what a PBFT primary signs to assign a block to
// (view, seq) (Castro-Liskov §4.2).
func PrePrepareSignBytes(chainID string, view, seq uint64, digest BlockID) []byte {
	return canonical.New(DomainPrePrepare, chainID).Uint64(view).Uint64(seq).Fixed(digest[:]).Sum()
}

// PBFTVoteSignBytes is what a PBFT replica signs for a prepare, commit or
// checkpoint. Every field a certificate must match on is signed: phase,
// view, sequence number and digest.
func PBFTVoteSignBytes(chainID string, phase PBFTPhase, view, seq uint64, digest BlockID) []byte {
	return canonical.New(pbftDomain(phase), chainID).Uint64(view).Uint64(seq).Fixed(digest[:]).Sum()
}

// ViewChangeSignBytes is what a PBFT replica signs to ask for view: the
// view and the hash of the whole view-change (PBFTViewChange.BodyHash).
func ViewChangeSignBytes(chainID string, view uint64, bodyHash []byte) []byte {
	return canonical.New(DomainViewChange, chainID).Uint64(view).Fixed(bodyHash).Sum()
}

// NewViewSignBytes is what a new PBFT primary signs to start view: the
// view and the hash of the whole new-view (PBFTNewView.BodyHash).
func NewViewSignBytes(chainID string, view uint64, bodyHash []byte) []byte {
	return canonical.New(DomainNewView, chainID).Uint64(view).Fixed(bodyHash).Sum()
}

func pbftDomain(phase PBFTPhase) string {
	switch phase {
	case PhasePrepare:
		return DomainPrepare
	case PhaseCommit:
		return DomainCommit
	case PhaseCheckpoint:
		return DomainCheckpoint
	default:
		// Messages are validated before they are signed or verified.
		panic(fmt.Sprintf("types: no sign bytes for PBFT phase %v", phase))
	}
}
