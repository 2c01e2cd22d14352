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
// Verification is against a validator set's signature scheme (Scheme: BLS,
// or a fast hash scheme in the simulator) and a chain ID. It checks, in order
// of cost: shape, bitmap length, a quorum of distinct members, then the
// signature. The chain ID and the message kind are bound by the sign bytes
// (types/signbytes.go), so a certificate from another chain or for another
// kind of message fails the signature check.
package qc

import (
	"errors"
	"fmt"
	"slices"

	"github.com/bftkit/bftkit/types"
)

var (
	ErrMissing         = errors.New("certificate missing")
	ErrTooFewSigners   = errors.New("too few signers for a quorum")
	ErrDuplicateSigner = errors.New("duplicate signer")
	ErrNonMember       = errors.New("signer is not a member of the validator set")
	ErrBadSignature    = errors.New("signature does not verify")
)

// Verifier checks certificates for one chain and one validator set, through
// the set's signature scheme. It is safe for concurrent use if its scheme is
// (both schemes here are).
type Verifier struct {
	chainID   string
	n, quorum int
	scheme    Scheme
}

// NewVerifier returns a verifier for certificates of chainID signed with
// vs's BLS keys.
func NewVerifier(chainID string, vs *types.ValidatorSet) *Verifier {
	return NewSchemeVerifier(chainID, vs.N(), vs.Quorum(), NewBLSScheme(vs))
}

// NewSchemeVerifier returns a verifier for n members with the given quorum
// and scheme (the simulator passes its HashScheme).
func NewSchemeVerifier(chainID string, n, quorum int, scheme Scheme) *Verifier {
	return &Verifier{chainID: chainID, n: n, quorum: quorum, scheme: scheme}
}

// ChainID is the chain certificates are checked for.
func (v *Verifier) ChainID() string { return v.chainID }

// N is the size of the validator set.
func (v *Verifier) N() int { return v.n }

// Quorum is how many distinct members a certificate needs.
func (v *Verifier) Quorum() int { return v.quorum }

// VerifySignature checks member i's signature over msg.
func (v *Verifier) VerifySignature(i types.ValidatorIndex, msg, sig []byte) error {
	if int(i) >= v.n {
		return fmt.Errorf("signer %d: %w", i, ErrNonMember)
	}
	if !v.scheme.Verify(i, msg, sig) {
		return fmt.Errorf("signature by %d: %w", i, ErrBadSignature)
	}
	return nil
}

// checkSigners checks that signers is a bitmap of this set naming at least a
// quorum of members. A bitmap names each member at most once, so distinctness
// holds by construction.
func (v *Verifier) checkSigners(signers types.Bitmap) error {
	if err := signers.ValidateFor(v.n); err != nil {
		return err
	}
	if got, want := signers.Count(), v.quorum; got < want {
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
	group := Group{Msg: types.VoteSignBytes(v.chainID, qc.View, qc.BlockID), Signers: signers}
	if !v.scheme.VerifyAggregate([]Group{group}, qc.Signature) {
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
	if !v.scheme.VerifyAggregate(v.timeoutGroups(tc, signers), tc.Signature) {
		return fmt.Errorf("tc for view %d: %w", tc.View, ErrBadSignature)
	}
	return nil
}

// timeoutGroups puts the signers of each distinct high QC view into one
// group: one pairing per distinct message, usually one or two per TC.
func (v *Verifier) timeoutGroups(tc *types.TimeoutCert, signers types.Bitmap) []Group {
	byView := make(map[uint64]types.Bitmap)
	for k, i := range signers.Indices() {
		hqv := tc.HighQcViews[k]
		if byView[hqv] == nil {
			byView[hqv] = types.NewBitmap(v.n)
		}
		byView[hqv].Set(i)
	}
	views := make([]uint64, 0, len(byView))
	for hqv := range byView {
		views = append(views, hqv)
	}
	slices.Sort(views)
	groups := make([]Group, len(views))
	for k, hqv := range views {
		groups[k] = Group{Msg: types.TimeoutSignBytes(v.chainID, tc.View, hqv), Signers: byView[hqv]}
	}
	return groups
}

// VerifyPBFTCert checks that c carries at least threshold valid signatures
// of distinct members over its phase, view, sequence number and digest.
func (v *Verifier) VerifyPBFTCert(c *types.PBFTCert, threshold int) error {
	if c == nil {
		return ErrMissing
	}
	if threshold < 1 || threshold > v.n {
		// A caller bug, not a peer's: refuse rather than accept an empty
		// certificate.
		return fmt.Errorf("pbft cert: threshold %d is outside 1..%d", threshold, v.n)
	}
	if err := c.ValidateBasic(); err != nil {
		return err
	}
	if len(c.Signers) < threshold {
		return fmt.Errorf("pbft cert: %w: %d of %d needed", ErrTooFewSigners, len(c.Signers), threshold)
	}
	seen := types.NewBitmap(v.n)
	for k, s := range c.Signers {
		if int(s) >= v.n {
			return fmt.Errorf("pbft cert: signers[%d] = %d: %w", k, s, ErrNonMember)
		}
		if seen.Has(s) {
			return fmt.Errorf("pbft cert: signers[%d] = %d: %w", k, s, ErrDuplicateSigner)
		}
		seen.Set(s)
	}
	msg := types.PBFTVoteSignBytes(v.chainID, c.Phase, c.View, c.Seq, c.Digest)
	for k, s := range c.Signers {
		if !v.scheme.Verify(s, msg, c.Signatures[k]) {
			return fmt.Errorf("pbft cert: signatures[%d] by %d: %w", k, s, ErrBadSignature)
		}
	}
	return nil
}
