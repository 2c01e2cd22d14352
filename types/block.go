package types

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/bftkit/bftkit/canonical"
	"github.com/bftkit/bftkit/crypto"
)

// Block is one batch of transactions at one height of the chain. It is the
// wire message bftkit.types.Block; gogoproto generates its methods but not
// this declaration (typedecl = false), so that a block can carry its ID.
//
// A block's contents must not change once its ID has been taken: the block
// keeps that ID (see ID). Build a new block instead, or, in a test that
// edits a block in place, call ForgetID after the edit.
type Block struct {
	Height uint64 `protobuf:"varint,1,opt,name=height,proto3" json:"height,omitempty"`
	// view (HotStuff) or view of the pre-prepare (PBFT) that proposed it.
	View     uint64  `protobuf:"varint,2,opt,name=view,proto3" json:"view,omitempty"`
	ParentID BlockID `protobuf:"bytes,3,opt,name=parent_id,json=parentId,proto3,customtype=BlockID" json:"parent_id"`
	// justify is the certificate for the parent (HotStuff); nil in PBFT and Raft.
	Justify  *QuorumCert    `protobuf:"bytes,4,opt,name=justify,proto3" json:"justify,omitempty"`
	Proposer ValidatorIndex `protobuf:"varint,5,opt,name=proposer,proto3,casttype=ValidatorIndex" json:"proposer,omitempty"`
	Txs      []Tx           `protobuf:"bytes,6,rep,name=txs,proto3,casttype=Tx" json:"txs,omitempty"`
	// parent_app_hash is the application state hash after executing the parent.
	ParentAppHash []byte `protobuf:"bytes,7,opt,name=parent_app_hash,json=parentAppHash,proto3" json:"parent_app_hash,omitempty"`
	// failed_leaders (HotStuff) names the leaders of the views between the
	// parent's view and this block's, in view order (the last
	// MaxFailedLeaders of them): the views that produced no block on this
	// chain. Leader reputation reads it from committed history; voters check
	// it against their own schedule.
	FailedLeaders []ValidatorIndex `protobuf:"varint,8,rep,packed,name=failed_leaders,json=failedLeaders,proto3,casttype=ValidatorIndex" json:"failed_leaders,omitempty"`
	// heard (HotStuff) has bit i set when the proposer received a vote or a
	// timeout from validator i for one of the last few views: a sign of
	// life for reputation, since a QC holds only the first 2f+1 votes. Not
	// verifiable: a Byzantine proposer can claim a dead validator works,
	// which costs the chain that validator's failed term, after which it is
	// excluded.
	Heard Bitmap `protobuf:"bytes,9,opt,name=heard,proto3,casttype=Bitmap" json:"heard,omitempty"`

	// id is the block's ID once computed. It is not on the wire (no
	// protobuf tag) and not in JSON (unexported).
	id carriedID
}

// carriedID is a block's ID, computed at most once. Blocks are shared
// between goroutines (the gateway's, the Ready loop, the executor, the
// store), so the first computation is guarded: done is set, with release
// semantics, only after id is written, and mu makes a second caller wait
// for the first hash instead of hashing too.
type carriedID struct {
	done atomic.Bool
	mu   sync.Mutex
	id   BlockID
}

// ID is the SHA-256 of the block's canonical header. The header commits to
// every field: the transactions through their RFC 6962 Merkle root, the
// justify certificate through its canonical encoding.
//
// The Merkle root of a large block costs about as much as a signature
// check, and a block is asked for its ID several times on its way through
// a node (the gateway's signature check, the application's
// ProcessProposal, the engine, the store). So the block carries its ID:
// the first call hashes it, once, even when goroutines race to ask, and
// every later call returns that ID without looking at the contents. A
// block decoded from the wire (DecodeMessage, Unmarshal) or built by an
// engine starts without one; the gateway's first check, or the engine that
// built it, takes it before the block is shared.
func (b *Block) ID() BlockID {
	if b.id.done.Load() {
		return b.id.id
	}
	return b.takeID()
}

// takeID is ID's first call: hash once, under the lock.
func (b *Block) takeID() BlockID {
	b.id.mu.Lock()
	defer b.id.mu.Unlock()
	if !b.id.done.Load() {
		b.id.id = b.computeID()
		b.id.done.Store(true)
	}
	return b.id.id
}

// ForgetID drops the ID b carries, so that the next ID hashes b's current
// contents. It is for tests (and test doubles) that change a block in
// place after its ID was taken; the node never does. It must not race with
// any other use of b.
func (b *Block) ForgetID() {
	b.id = carriedID{}
}

// Copy returns a new block with b's fields (sharing its transactions,
// parent app hash and justify certificate, which must not change either)
// and no ID yet: the way to derive a different block from b.
func (b *Block) Copy() *Block {
	return &Block{
		Height: b.Height, View: b.View, ParentID: b.ParentID, Justify: b.Justify,
		Proposer: b.Proposer, Txs: b.Txs, ParentAppHash: b.ParentAppHash, FailedLeaders: b.FailedLeaders, Heard: b.Heard,
	}
}

// Unmarshal decodes data into b, which gives b new contents: the ID b
// carried, if any, is dropped first. Like every gogoproto Unmarshal, it
// merges into b's fields; decode into a new block.
func (b *Block) Unmarshal(data []byte) error {
	b.ForgetID()
	return b.unmarshalFields(data)
}

// Equal reports whether that is a *Block with the same contents as b
// (gogoproto's Equal, written by hand because the generated one copies a
// Block value). The IDs the blocks carry are not compared: equal contents
// have equal IDs.
func (b *Block) Equal(that any) bool {
	if that == nil {
		return b == nil
	}
	o, ok := that.(*Block)
	if !ok {
		return false
	}
	if o == nil || b == nil {
		return o == b
	}
	if b.Height != o.Height || b.View != o.View || b.ParentID != o.ParentID ||
		!b.Justify.Equal(o.Justify) || b.Proposer != o.Proposer ||
		len(b.Txs) != len(o.Txs) || !bytes.Equal(b.ParentAppHash, o.ParentAppHash) ||
		!slices.Equal(b.FailedLeaders, o.FailedLeaders) || !bytes.Equal(b.Heard, o.Heard) {
		return false
	}
	for i := range b.Txs {
		if !bytes.Equal(b.Txs[i], o.Txs[i]) {
			return false
		}
	}
	return true
}

// idHashes counts computeID calls, for tests that check a block is hashed
// once.
var idHashes atomic.Uint64

// computeID hashes b's header.
func (b *Block) computeID() BlockID {
	idHashes.Add(1)
	txRoot := b.TxRoot()
	e := canonical.New(DomainBlockHeader, "").
		Uint64(b.Height).
		Uint64(b.View).
		Fixed(b.ParentID[:]).
		Uint32(uint32(b.Proposer)).
		Fixed(txRoot[:]).
		Bytes(b.ParentAppHash)
	appendQC(e, b.Justify)
	e.Uint32(uint32(len(b.FailedLeaders)))
	for _, l := range b.FailedLeaders {
		e.Uint32(uint32(l))
	}
	e.Bytes(b.Heard)
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
	if len(b.Heard) > (MaxValidators+7)/8 {
		return fmt.Errorf("block: heard bitmap of %d bytes exceeds the limit", len(b.Heard))
	}
	if len(b.FailedLeaders) > MaxFailedLeaders {
		return fmt.Errorf("block: %d failed leaders exceeds the limit of %d", len(b.FailedLeaders), MaxFailedLeaders)
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
