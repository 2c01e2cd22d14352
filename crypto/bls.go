// Package crypto wraps BLS12-381 signatures (github.com/herumi/bls-eth-go-binary,
// Ethereum mode: 48-byte public keys in G1, 96-byte signatures in G2), SHA-256
// hashing and key files.
//
// Every signature covers the SHA-256 digest of a canonical sign-bytes string
// (see package canonical). Signing a fixed 32-byte digest lets certificates
// over distinct messages use herumi's aggregate verification, which takes
// fixed-size messages, and it keeps cgo arguments plain arrays: herumi panics
// when handed a slice that points into a struct holding Go pointers.
//
// Rogue-key attacks on aggregation are prevented by proofs of possession: a
// public key is admitted to a validator set only with a valid PoP, so
// aggregate verification may skip herumi's distinct-message check.
package crypto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/herumi/bls-eth-go-binary/bls"
)

// Sizes of serialized keys and signatures, in bytes.
const (
	PublicKeySize = 48
	SignatureSize = 96
	SecretKeySize = 32
)

var (
	ErrPublicKeyLength = errors.New("public key must be 48 bytes")
	ErrSignatureLength = errors.New("signature must be 96 bytes")
	ErrSecretKeyLength = errors.New("secret key must be 32 bytes")
	ErrBadPoint        = errors.New("not a valid point of the BLS12-381 subgroup")
	ErrZeroPublicKey   = errors.New("public key is the point at infinity")
	ErrZeroSecretKey   = errors.New("secret key is zero")
	ErrZeroSignature   = errors.New("signature is the point at infinity")
	ErrNonCanonical    = errors.New("not the canonical encoding of its point")
)

func init() {
	// bls.Init is not thread-safe; a package init runs exactly once, before
	// any goroutine can reach this package.
	if err := bls.Init(bls.BLS12_381); err != nil {
		panic(fmt.Sprintf("crypto: herumi BLS init: %v", err))
	}
	if err := bls.SetETHmode(bls.EthModeDraft07); err != nil {
		panic(fmt.Sprintf("crypto: herumi BLS eth mode: %v", err))
	}
	// Deserialization must reject points outside the prime-order subgroup;
	// a peer controls every byte we decode.
	bls.VerifyPublicKeyOrder(true)
	bls.VerifySignatureOrder(true)
}

// SecretKey is a BLS secret key. Its String method never prints the key.
type SecretKey struct {
	k bls.SecretKey
}

// PublicKey is a BLS public key, known to be a valid, non-zero subgroup point.
type PublicKey struct {
	p bls.PublicKey
}

// Signature is a BLS signature (or an aggregate of several), known to be a
// valid subgroup point.
type Signature struct {
	s bls.Sign
}

// PublicKey derives the public key of sk.
func (sk *SecretKey) PublicKey() PublicKey {
	return PublicKey{p: *sk.k.GetPublicKey()}
}

// Bytes serializes the secret key (32 bytes, big-endian).
func (sk *SecretKey) Bytes() []byte { return sk.k.Serialize() }

// String redacts the key so that it never reaches a log by accident.
func (sk *SecretKey) String() string { return "SecretKey(redacted)" }

// SecretKeyFromBytes decodes a serialized secret key.
func SecretKeyFromBytes(b []byte) (*SecretKey, error) {
	if len(b) != SecretKeySize {
		return nil, ErrSecretKeyLength
	}
	var buf [SecretKeySize]byte
	copy(buf[:], b)
	sk := new(SecretKey)
	if err := sk.k.Deserialize(buf[:]); err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	if sk.k.IsZero() {
		return nil, ErrZeroSecretKey
	}
	return sk, nil
}

// Bytes serializes the public key in compressed form (48 bytes).
func (pk PublicKey) Bytes() []byte { return pk.p.Serialize() }

// Equal reports whether two public keys are the same point.
func (pk PublicKey) Equal(other PublicKey) bool { return pk.p.IsEqual(&other.p) }

// String is the hex encoding of the key.
func (pk PublicKey) String() string { return hex.EncodeToString(pk.Bytes()) }

// PublicKeyFromBytes decodes a compressed public key, rejecting points off the
// subgroup and the point at infinity.
func PublicKeyFromBytes(b []byte) (PublicKey, error) {
	if len(b) != PublicKeySize {
		return PublicKey{}, ErrPublicKeyLength
	}
	var buf [PublicKeySize]byte
	copy(buf[:], b)
	var pk PublicKey
	if err := pk.p.Deserialize(buf[:]); err != nil {
		return PublicKey{}, ErrBadPoint
	}
	if pk.p.IsZero() {
		return PublicKey{}, ErrZeroPublicKey
	}
	if !bytes.Equal(pk.p.Serialize(), buf[:]) {
		return PublicKey{}, ErrNonCanonical
	}
	return pk, nil
}

// Bytes serializes the signature in compressed form (96 bytes).
func (s Signature) Bytes() []byte { return s.s.Serialize() }

// Equal reports whether two signatures are the same point.
func (s Signature) Equal(other Signature) bool { return s.s.IsEqual(&other.s) }

// SignatureFromBytes decodes a compressed signature. It rejects points off
// the subgroup, the point at infinity (no real key's signature, nor any
// aggregate of them), and non-canonical encodings: herumi v1.36.4 decodes
// 0xc0 00…00 XX as the infinity for every XX, and a signature must have
// exactly one encoding so that relays cannot alter signed messages and
// evidence is unique.
func SignatureFromBytes(b []byte) (Signature, error) {
	if len(b) != SignatureSize {
		return Signature{}, ErrSignatureLength
	}
	var buf [SignatureSize]byte
	copy(buf[:], b)
	var s Signature
	if err := s.s.Deserialize(buf[:]); err != nil {
		return Signature{}, ErrBadPoint
	}
	if s.s.IsZero() {
		return Signature{}, ErrZeroSignature
	}
	if !bytes.Equal(s.s.Serialize(), buf[:]) {
		return Signature{}, ErrNonCanonical
	}
	return s, nil
}

// String is a short hex prefix, enough to tell signatures apart in traces.
func (s Signature) String() string { return hex.EncodeToString(s.Bytes()[:8]) }
