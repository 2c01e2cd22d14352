package types

import (
	"errors"
	"fmt"

	"github.com/bftkit/bftkit/crypto"
)

// Validator is one member of the permissioned set.
type Validator struct {
	Index  ValidatorIndex
	PubKey crypto.PublicKey
	// PoP is the proof of possession of PubKey's secret key. Admission
	// requires it: without it, one member could pick a key that cancels the
	// others' in an aggregate (a rogue-key attack) and forge QCs alone.
	PoP crypto.Signature
	// PeerID is the libp2p peer ID the node's transport admits; empty in the
	// simulator.
	PeerID string
	// Address is where to dial the validator (a multiaddr); empty in the
	// simulator.
	Address string
}

// ErrBadPoP means a validator's proof of possession does not verify.
var ErrBadPoP = errors.New("proof of possession does not verify")

// ValidatorSet is an immutable, validated set of n validators, indexed
// 0..n-1. It tolerates f = ⌊(n−1)/3⌋ Byzantine members; a quorum is
// ⌊2n/3⌋+1, so two quorums always share an honest member.
type ValidatorSet struct {
	vals []Validator
	keys []crypto.PublicKey
}

// NewValidatorSet checks and adopts vals: a non-empty set of at most
// MaxValidators, vals[i].Index == i, distinct public keys, each with a
// proof of possession that verifies, and distinct peer IDs where set.
func NewValidatorSet(vals []Validator) (*ValidatorSet, error) {
	if len(vals) == 0 {
		return nil, errors.New("validator set: empty")
	}
	if len(vals) > MaxValidators {
		return nil, fmt.Errorf("validator set: %d validators exceeds the limit of %d", len(vals), MaxValidators)
	}
	seenKeys := make(map[string]int, len(vals))
	seenPeers := make(map[string]int, len(vals))
	vs := &ValidatorSet{vals: make([]Validator, len(vals)), keys: make([]crypto.PublicKey, len(vals))}
	for i, v := range vals {
		if int(v.Index) != i {
			return nil, fmt.Errorf("validator set: validators[%d] has index %d", i, v.Index)
		}
		key := string(v.PubKey.Bytes())
		if j, dup := seenKeys[key]; dup {
			return nil, fmt.Errorf("validator set: validators[%d] has the same public key as validators[%d]", i, j)
		}
		seenKeys[key] = i
		if v.PeerID != "" {
			if j, dup := seenPeers[v.PeerID]; dup {
				return nil, fmt.Errorf("validator set: validators[%d] has the same peer ID as validators[%d]", i, j)
			}
			seenPeers[v.PeerID] = i
		}
		if !crypto.VerifyPossession(v.PubKey, v.PoP) {
			return nil, fmt.Errorf("validator set: validators[%d].proof_of_possession: %w", i, ErrBadPoP)
		}
		vs.vals[i] = v
		vs.keys[i] = v.PubKey
	}
	return vs, nil
}

// N is the number of validators.
func (vs *ValidatorSet) N() int { return len(vs.vals) }

// F is the number of Byzantine validators the set tolerates, ⌊(n−1)/3⌋.
func (vs *ValidatorSet) F() int { return (len(vs.vals) - 1) / 3 }

// Quorum is ⌊2n/3⌋+1, the size of a certificate. For n = 3f+1 it is 2f+1.
func (vs *ValidatorSet) Quorum() int { return QuorumSize(len(vs.vals)) }

// QuorumSize is the BFT quorum of n validators, ⌊2n/3⌋+1: any two quorums
// share at least f+1 validators, so at least one honest one.
func QuorumSize(n int) int { return 2*n/3 + 1 }

// Contains reports whether i is a member's index.
func (vs *ValidatorSet) Contains(i ValidatorIndex) bool { return int(i) < len(vs.vals) }

// Validator returns member i. i must be a member (see Contains).
func (vs *ValidatorSet) Validator(i ValidatorIndex) Validator { return vs.vals[i] }

// PubKey returns member i's public key. i must be a member.
func (vs *ValidatorSet) PubKey(i ValidatorIndex) crypto.PublicKey { return vs.keys[i] }

// PubKeys returns the keys of the members marked in signers, in index
// order. signers must have passed ValidateFor(N()).
func (vs *ValidatorSet) PubKeys(signers Bitmap) []crypto.PublicKey {
	idx := signers.Indices()
	out := make([]crypto.PublicKey, len(idx))
	for k, i := range idx {
		out[k] = vs.keys[i]
	}
	return out
}

// Validators returns a copy of the members in index order.
func (vs *ValidatorSet) Validators() []Validator {
	return append([]Validator(nil), vs.vals...)
}
