package qc

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/bftkit/bftkit/crypto"
	"github.com/bftkit/bftkit/types"
)

// Scheme is the signature scheme of one validator set, addressed by member
// index: BLS in production, a fast keyed hash in the simulator. Certificates
// are built and checked through it, so the same engine and verifier code
// runs on both.
type Scheme interface {
	// Verify reports whether sig is member i's signature over msg.
	Verify(i types.ValidatorIndex, msg, sig []byte) bool
	// Aggregate combines signatures into one.
	Aggregate(sigs [][]byte) ([]byte, error)
	// VerifyAggregate reports whether agg combines, for every group, one
	// signature of each member in the group's bitmap over its message.
	VerifyAggregate(groups []Group, agg []byte) bool
}

// Group is a set of members that all signed one message.
type Group struct {
	Msg     []byte
	Signers types.Bitmap
}

// Signer signs as one validator. Engines hold one; they never see keys.
type Signer interface {
	Sign(msg []byte) []byte
}

// ---- BLS: the production scheme. ----

// blsScheme verifies with the validator set's BLS keys, caching aggregated
// keys per signer bitmap.
type blsScheme struct {
	vs   *types.ValidatorSet
	keys *crypto.AggKeyCache
}

// aggKeyCacheEntries bounds the aggregated-key cache: a handful of signer
// sets is typical per view, and a few thousand keys cost well under 1 MiB.
const aggKeyCacheEntries = 4096

// NewBLSScheme is the scheme of vs's BLS keys.
func NewBLSScheme(vs *types.ValidatorSet) Scheme {
	return &blsScheme{vs: vs, keys: crypto.NewAggKeyCache(aggKeyCacheEntries)}
}

func (s *blsScheme) Verify(i types.ValidatorIndex, msg, sig []byte) bool {
	if !s.vs.Contains(i) {
		return false
	}
	decoded, err := crypto.SignatureFromBytes(sig)
	return err == nil && crypto.Verify(s.vs.PubKey(i), msg, decoded)
}

func (s *blsScheme) Aggregate(sigs [][]byte) ([]byte, error) {
	decoded := make([]crypto.Signature, len(sigs))
	for k, b := range sigs {
		sig, err := crypto.SignatureFromBytes(b)
		if err != nil {
			return nil, fmt.Errorf("aggregate: signature %d: %w", k, err)
		}
		decoded[k] = sig
	}
	agg, ok := crypto.AggregateSignatures(decoded)
	if !ok {
		return nil, errors.New("aggregate: no signatures")
	}
	return agg.Bytes(), nil
}

// VerifyAggregate uses one pairing check against a cached aggregated key
// for a single group (a QC), and one pairing per group otherwise (a TC).
func (s *blsScheme) VerifyAggregate(groups []Group, agg []byte) bool {
	sig, err := crypto.SignatureFromBytes(agg)
	if err != nil || len(groups) == 0 {
		return false
	}
	if len(groups) == 1 {
		g := groups[0]
		key, ok := s.keys.Get(g.Signers, func() []crypto.PublicKey { return s.vs.PubKeys(g.Signers) })
		return ok && crypto.Verify(key, g.Msg, sig)
	}
	signed := make([]crypto.SignedGroup, len(groups))
	for k, g := range groups {
		signed[k] = crypto.SignedGroup{Msg: g.Msg, Keys: s.vs.PubKeys(g.Signers)}
	}
	return crypto.AggregateVerify(signed, sig)
}

type blsSigner struct{ sk *crypto.SecretKey }

// NewBLSSigner signs with sk.
func NewBLSSigner(sk *crypto.SecretKey) Signer { return blsSigner{sk: sk} }

func (s blsSigner) Sign(msg []byte) []byte { return crypto.Sign(s.sk, msg).Bytes() }

// ---- The simulator's scheme. ----

// HashScheme is a fast stand-in for BLS in the simulator, where thousands
// of seeds cannot afford a millisecond per signature. Member i's signature
// over m is a keyed hash of m under a secret derived from the run's seed
// and i, 96 bytes like a BLS signature; an aggregate is the XOR of its
// parts. Only the simulator's verifier holds every secret: an engine,
// honest or Byzantine, gets a Signer for its own index alone, so it can
// forge nothing it did not see signed. Not for production use.
type HashScheme struct {
	secrets [][32]byte
}

// NewHashScheme derives secrets for n members from seed.
func NewHashScheme(n int, seed uint64) *HashScheme {
	s := &HashScheme{secrets: make([][32]byte, n)}
	for i := range s.secrets {
		var buf [16]byte
		binary.BigEndian.PutUint64(buf[:8], seed)
		binary.BigEndian.PutUint64(buf[8:], uint64(i))
		s.secrets[i] = sha256.Sum256(append([]byte("bftkit/hash-scheme/v1"), buf[:]...))
	}
	return s
}

// Signer returns member i's signer.
func (s *HashScheme) Signer(i types.ValidatorIndex) Signer { return hashSigner{s: s, i: i} }

func (s *HashScheme) sign(i types.ValidatorIndex, msg []byte) []byte {
	h := sha512.New()
	h.Write(s.secrets[i][:])
	h.Write(msg)
	out := h.Sum(nil) // 64 bytes
	tail := sha256.Sum256(out)
	return append(out, tail[:]...) // 96 bytes, the size of a BLS signature
}

func (s *HashScheme) Verify(i types.ValidatorIndex, msg, sig []byte) bool {
	return int(i) < len(s.secrets) && len(sig) == crypto.SignatureSize && string(s.sign(i, msg)) == string(sig)
}

func (s *HashScheme) Aggregate(sigs [][]byte) ([]byte, error) {
	if len(sigs) == 0 {
		return nil, errors.New("aggregate: no signatures")
	}
	agg := make([]byte, crypto.SignatureSize)
	for k, sig := range sigs {
		if len(sig) != crypto.SignatureSize {
			return nil, fmt.Errorf("aggregate: signature %d is %d bytes", k, len(sig))
		}
		for j := range agg {
			agg[j] ^= sig[j]
		}
	}
	return agg, nil
}

func (s *HashScheme) VerifyAggregate(groups []Group, agg []byte) bool {
	var parts [][]byte
	for _, g := range groups {
		for _, i := range g.Signers.Indices() {
			if int(i) >= len(s.secrets) {
				return false
			}
			parts = append(parts, s.sign(i, g.Msg))
		}
	}
	want, err := s.Aggregate(parts)
	return err == nil && string(want) == string(agg)
}

type hashSigner struct {
	s *HashScheme
	i types.ValidatorIndex
}

func (h hashSigner) Sign(msg []byte) []byte { return h.s.sign(h.i, msg) }
