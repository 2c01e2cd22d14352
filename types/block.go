package types

import (
	"errors"
	"fmt"

	"github.com/bftkit/bftkit/canonical"
	"github.com/bftkit/bftkit/crypto"
)

// ID is the SHA-256 of the block's canonical header. The header commits to
// every field: the transactions through their RFC 6962 Merkle root, the
// justify certificate through its canonical encoding.
//
// A block is hashed several times on its way through a node (the gateway's
// signature check, the application's ProcessProposal, the engine, the
// store), and the Merkle root of a large block costs about as much as a
// signature check. So IDs are remembered (see idMemo), and a block whose
// contents have not changed since its last ID is not hashed again.
func (b *Block) ID() BlockID {
	return blockIDs.id(b)
}

// computeID hashes b's header.
func (b *Block) computeID() BlockID {
	txRoot := b.TxRoot()
	e := canonical.New(DomainBlockHeader, "").
		Uint64(b.Height).
		Uint64(b.View).
		Fixed(b.ParentID[:]).
		Uint32(uint32(b.Proposer)).
		Fixed(txRoot[:]).
		Bytes(b.ParentAppHash)
	appendQC(e, b.Justify)
	return BlockID(crypto.Sum256(e.Sum()))
}

// TxRoot is the Merkle root of the block's transactions.
func (b *Block) TxRoot() crypto.Hash {
	leaves := make([][]byte, len(b.Txs))
	for i, tx := range b.Txs {
		leaves[i] = tx
	}
	return crypto.MerkleRoot(leaves)
}

// appendQC encodes an optional QC; absence is distinguished from presence.
func appendQC(e *canonical.Encoder, qc *QuorumCert) {
	if qc == nil {
		e.Uint32(0)
		return
	}
	e.Uint32(1).Uint64(qc.View).Fixed(qc.BlockID[:]).Bytes(qc.Signers).Bytes(qc.Signature)
}

// ValidateBasic checks what a block must satisfy regardless of chain state:
// sizes and limits. Protocol rules (parent, view, justify) are the engine's.
func (b *Block) ValidateBasic() error {
	if b == nil {
		return errors.New("block: missing")
	}
	if b.Height == 0 {
		return errors.New("block: height must be at least 1")
	}
	if len(b.Txs) > MaxBlockTxs {
		return fmt.Errorf("block: %d txs exceeds the limit of %d", len(b.Txs), MaxBlockTxs)
	}
	total := 0
	for i, tx := range b.Txs {
		if len(tx) == 0 {
			return fmt.Errorf("block: txs[%d] is empty", i)
		}
		if len(tx) > MaxTxBytes {
			return fmt.Errorf("block: txs[%d] is %d bytes, limit %d", i, len(tx), MaxTxBytes)
		}
		total += len(tx)
	}
	if total > MaxBlockBytes {
		return fmt.Errorf("block: %d bytes of txs exceeds the limit of %d", total, MaxBlockBytes)
	}
	if len(b.ParentAppHash) > MaxAppHashBytes {
		return fmt.Errorf("block: parent_app_hash is %d bytes, limit %d", len(b.ParentAppHash), MaxAppHashBytes)
	}
	if b.Justify != nil {
		if err := b.Justify.ValidateBasic(); err != nil {
			return fmt.Errorf("block: justify: %w", err)
		}
	}
	return nil
}

// ValidateBasic checks a QC's shape; whether it verifies against a validator
// set is qc.VerifyQC's job.
func (qc *QuorumCert) ValidateBasic() error {
	if qc == nil {
		return errors.New("qc: missing")
	}
	if len(qc.Signers) > (MaxValidators+7)/8 {
		return fmt.Errorf("qc: signer bitmap of %d bytes exceeds the limit", len(qc.Signers))
	}
	if len(qc.Signature) != crypto.SignatureSize {
		return fmt.Errorf("qc: signature is %d bytes, want %d", len(qc.Signature), crypto.SignatureSize)
	}
	return nil
}

// ValidateBasic checks a TC's shape.
func (tc *TimeoutCert) ValidateBasic() error {
	if tc == nil {
		return errors.New("tc: missing")
	}
	if len(tc.Signers) > (MaxValidators+7)/8 {
		return fmt.Errorf("tc: signer bitmap of %d bytes exceeds the limit", len(tc.Signers))
	}
	if got, want := len(tc.HighQcViews), Bitmap(tc.Signers).Count(); got != want {
		return fmt.Errorf("tc: %d high QC views for %d signers", got, want)
	}
	for i, v := range tc.HighQcViews {
		if v >= tc.View {
			return fmt.Errorf("tc: high_qc_views[%d] = %d is not below the TC's view %d", i, v, tc.View)
		}
	}
	if len(tc.Signature) != crypto.SignatureSize {
		return fmt.Errorf("tc: signature is %d bytes, want %d", len(tc.Signature), crypto.SignatureSize)
	}
	return nil
}

// HighestQCView is the highest high QC view any signer reported: a
// proposal justified by this TC must extend a QC at least this high.
func (tc *TimeoutCert) HighestQCView() uint64 {
	var hq uint64
	for _, v := range tc.HighQcViews {
		hq = max(hq, v)
	}
	return hq
}

// ValidateBasic checks a PBFT certificate's shape.
func (c *PBFTCert) ValidateBasic() error {
	if c == nil {
		return errors.New("pbft cert: missing")
	}
	if err := validatePBFTSlot(c.Phase, c.View, c.Seq); err != nil {
		return fmt.Errorf("pbft cert: %w", err)
	}
	if len(c.Signers) != len(c.Signatures) {
		return fmt.Errorf("pbft cert: %d signers but %d signatures", len(c.Signers), len(c.Signatures))
	}
	if len(c.Signers) > MaxValidators {
		return fmt.Errorf("pbft cert: %d signers exceeds the limit of %d", len(c.Signers), MaxValidators)
	}
	for i, s := range c.Signatures {
		if len(s) != crypto.SignatureSize {
			return fmt.Errorf("pbft cert: signatures[%d] is %d bytes, want %d", i, len(s), crypto.SignatureSize)
		}
	}
	return nil
}
