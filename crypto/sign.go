package crypto

import (
	"crypto/sha256"

	"github.com/herumi/bls-eth-go-binary/bls"
)

// Sign signs the SHA-256 digest of msg. msg must be canonical sign bytes
// that start with a domain tag (package canonical); that tag is the domain
// separation between kinds of signed messages.
func Sign(sk *SecretKey, msg []byte) Signature {
	digest := sha256.Sum256(msg)
	return Signature{s: *sk.k.SignByte(digest[:])}
}

// Verify reports whether sig is pk's signature over msg.
func Verify(pk PublicKey, msg []byte, sig Signature) bool {
	digest := sha256.Sum256(msg)
	return sig.s.VerifyByte(&pk.p, digest[:])
}

// AggregateSignatures adds signatures into one. It returns false for an empty
// input, which has no meaningful aggregate.
func AggregateSignatures(sigs []Signature) (Signature, bool) {
	if len(sigs) == 0 {
		return Signature{}, false
	}
	var agg Signature
	agg.s = sigs[0].s
	for i := 1; i < len(sigs); i++ {
		agg.s.Add(&sigs[i].s)
	}
	return agg, true
}

// AggregatePublicKeys adds public keys into one. Sound only for keys whose
// proofs of possession were verified (ValidatorSet guarantees it).
func AggregatePublicKeys(pks []PublicKey) (PublicKey, bool) {
	if len(pks) == 0 {
		return PublicKey{}, false
	}
	var agg PublicKey
	agg.p = pks[0].p
	for i := 1; i < len(pks); i++ {
		agg.p.Add(&pks[i].p)
	}
	return agg, true
}

// FastAggregateVerify reports whether sig aggregates signatures of every key
// in pks over the same msg. With an aggregated key at hand (AggKeyCache),
// Verify(aggKey, msg, sig) is the same check without re-adding the keys.
func FastAggregateVerify(pks []PublicKey, msg []byte, sig Signature) bool {
	agg, ok := AggregatePublicKeys(pks)
	if !ok {
		return false
	}
	return Verify(agg, msg, sig)
}

// SignedGroup is a set of keys that all signed one message.
type SignedGroup struct {
	Msg  []byte
	Keys []PublicKey
}

// AggregateVerify reports whether sig aggregates, for every group, signatures
// of each of its keys over its message: one pairing per distinct group, so
// callers should put every signer of one message into one group. It does not
// require the messages to differ: proofs of possession already rule out rogue
// keys, and certificates legitimately carry equal messages from many signers.
func AggregateVerify(groups []SignedGroup, sig Signature) bool {
	if len(groups) == 0 {
		return false
	}
	pubs := make([]bls.PublicKey, 0, len(groups))
	digests := make([]byte, 0, len(groups)*sha256.Size)
	for _, g := range groups {
		agg, ok := AggregatePublicKeys(g.Keys)
		if !ok {
			return false
		}
		d := sha256.Sum256(g.Msg)
		pubs = append(pubs, agg.p)
		digests = append(digests, d[:]...)
	}
	return sig.s.AggregateVerifyNoCheck(pubs, digests)
}
