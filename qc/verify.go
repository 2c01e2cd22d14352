// Package qc turns votes into certificates and checks certificates.
//
// Three kinds of certificate are built and verified here:
//   - QuorumCert (HotStuff): a quorum of signatures over one vote, aggregated
//     into one BLS signature plus a signer bitmap.
//   - TimeoutCert (HotStuff pacemaker, as in Jolteon / DiemBFT v4): a quorum
//     of timeouts for one view, each over its own message (the signer's high
//     QC view), aggregated into one signature.
//   - PBFTCert: a threshold of individually signed, matching PBFT votes.
//
// Verification is against a validator set and a chain ID. It checks, in order
// of cost: shape, bitmap length, a quorum of distinct members, then the
// signature. The chain ID and the message kind are bound by the sign bytes
// (types/signbytes.go), so a certificate from another chain or for another
// kind of message fails the signature check.
package qc

import (
	"errors"
	"fmt"
	"slices"

	"github.com/bftkit/bftkit/crypto"
	"github.com/bftkit/bftkit/types"
)

var (
	ErrMissing         = errors.New("certificate missing")
	ErrTooFewSigners   = errors.New("too few signers for a quorum")
	ErrDuplicateSigner = errors.New("duplicate signer")
	ErrNonMember       = errors.New("signer is not a member of the validator set")
	ErrBadSignature    = errors.New("signature does not verify")
)

// aggKeyCacheEntries bounds the aggregated-key cache: a handful of signer
// sets is typical per view, and a few thousand keys cost well under 1 MiB.
const aggKeyCacheEntries = 4096

// Verifier checks certificates for one chain and one validator set. It is
// safe for concurrent use.
type Verifier struct {
	chainID string
	vs      *types.ValidatorSet
	keys    *crypto.AggKeyCache
}

// NewVerifier returns a verifier for certificates of chainID signed by vs.
func NewVerifier(chainID string, vs *types.ValidatorSet) *Verifier {
	return &Verifier{chainID: chainID, vs: vs, keys: crypto.NewAggKeyCache(aggKeyCacheEntries)}
}

// ValidatorSet is the set certificates are checked against.
func (v *Verifier) ValidatorSet() *types.ValidatorSet { return v.vs }

// ChainID is the chain certificates are checked for.
func (v *Verifier) ChainID() string { return v.chainID }

// checkSigners checks that signers is a bitmap of this set naming at least a
// quorum of members. A bitmap names each member at most once, so distinctness
// holds by construction.
func (v *Verifier) checkSigners(signers types.Bitmap) error {
	if err := signers.ValidateFor(v.vs.N()); err != nil {
		return err
	}
	if got, want := signers.Count(), v.vs.Quorum(); got < want {
		return fmt.Errorf("%w: %d of %d needed", ErrTooFewSigners, got, want)
	}
	return nil
}

// VerifyQC checks that qc carries a quorum of this set's signatures over
// VoteSignBytes(chainID, qc.View, qc.BlockID).
func (v *Verifier) VerifyQC(qc *types.QuorumCert) error {
	if qc == nil {
		return ErrMissing
	}
	if err := qc.ValidateBasic(); err != nil {
		return err
	}
	signers := types.Bitmap(qc.Signers)
	if err := v.checkSigners(signers); err != nil {
		return fmt.Errorf("qc: %w", err)
	}
	sig, err := crypto.SignatureFromBytes(qc.Signature)
	if err != nil {
		return fmt.Errorf("qc: signature: %w", err)
	}
	aggKey, ok := v.keys.Get(signers, func() []crypto.PublicKey { return v.vs.PubKeys(signers) })
	if !ok || !crypto.Verify(aggKey, types.VoteSignBytes(v.chainID, qc.View, qc.BlockID), sig) {
		return fmt.Errorf("qc for view %d: %w", qc.View, ErrBadSignature)
	}
	return nil
}

// VerifyTC checks that tc carries a quorum of this set's timeout signatures
// for tc.View, signer k (in bitmap order) over its own high QC view.
func (v *Verifier) VerifyTC(tc *types.TimeoutCert) error {
	if tc == nil {
		return ErrMissing
	}
	if err := tc.ValidateBasic(); err != nil {
		return err
	}
	signers := types.Bitmap(tc.Signers)
	if err := v.checkSigners(signers); err != nil {
		return fmt.Errorf("tc: %w", err)
	}
	sig, err := crypto.SignatureFromBytes(tc.Signature)
	if err != nil {
		return fmt.Errorf("tc: signature: %w", err)
	}
	if !crypto.AggregateVerify(v.timeoutGroups(tc, signers), sig) {
		return fmt.Errorf("tc for view %d: %w", tc.View, ErrBadSignature)
	}
	return nil
}

// timeoutGroups puts the signers of each distinct high QC view into one
// group: one pairing per distinct message, usually one or two per TC.
func (v *Verifier) timeoutGroups(tc *types.TimeoutCert, signers types.Bitmap) []crypto.SignedGroup {
	byView := make(map[uint64][]crypto.PublicKey)
	for k, i := range signers.Indices() {
		hqv := tc.HighQcViews[k]
		byView[hqv] = append(byView[hqv], v.vs.PubKey(i))
	}
	views := make([]uint64, 0, len(byView))
	for hqv := range byView {
		views = append(views, hqv)
	}
	slices.Sort(views)
	groups := make([]crypto.SignedGroup, len(views))
	for k, hqv := range views {
		groups[k] = crypto.SignedGroup{Msg: types.TimeoutSignBytes(v.chainID, tc.View, hqv), Keys: byView[hqv]}
	}
	return groups
}

// VerifyPBFTCert checks that c carries at least threshold valid signatures
// of distinct members over its phase, view, sequence number and digest.
func (v *Verifier) VerifyPBFTCert(c *types.PBFTCert, threshold int) error {
	if c == nil {
		return ErrMissing
	}
	if threshold < 1 || threshold > v.vs.N() {
		// A caller bug, not a peer's: refuse rather than accept an empty
		// certificate.
		return fmt.Errorf("pbft cert: threshold %d is outside 1..%d", threshold, v.vs.N())
	}
	if err := c.ValidateBasic(); err != nil {
		return err
	}
	if len(c.Signers) < threshold {
		return fmt.Errorf("pbft cert: %w: %d of %d needed", ErrTooFewSigners, len(c.Signers), threshold)
	}
	seen := types.NewBitmap(v.vs.N())
	for k, s := range c.Signers {
		if !v.vs.Contains(s) {
			return fmt.Errorf("pbft cert: signers[%d] = %d: %w", k, s, ErrNonMember)
		}
		if seen.Has(s) {
			return fmt.Errorf("pbft cert: signers[%d] = %d: %w", k, s, ErrDuplicateSigner)
		}
		seen.Set(s)
	}
	msg := types.PBFTVoteSignBytes(v.chainID, c.Phase, c.View, c.Seq, c.Digest)
	for k, s := range c.Signers {
		sig, err := crypto.SignatureFromBytes(c.Signatures[k])
		if err != nil {
			return fmt.Errorf("pbft cert: signatures[%d]: %w", k, err)
		}
		if !crypto.Verify(v.vs.PubKey(s), msg, sig) {
			return fmt.Errorf("pbft cert: signatures[%d] by %d: %w", k, s, ErrBadSignature)
		}
	}
	return nil
}
