package crypto

import "github.com/bftkit/bftkit/canonical"

// DomainPoP tags proof-of-possession sign bytes. No other signed message in
// bftkit uses it, so a PoP can never be replayed as a vote or vice versa.
const DomainPoP = "bftkit/pop/v1"

func popSignBytes(pk PublicKey) []byte {
	// A PoP proves knowledge of a key, independent of any chain: the chain ID
	// is empty on purpose so one key file serves any network.
	return canonical.New(DomainPoP, "").Fixed(pk.Bytes()).Sum()
}

// ProvePossession signs sk's own public key, proving knowledge of sk.
func ProvePossession(sk *SecretKey) Signature {
	return Sign(sk, popSignBytes(sk.PublicKey()))
}

// VerifyPossession reports whether pop proves possession of pk's secret key.
func VerifyPossession(pk PublicKey, pop Signature) bool {
	return Verify(pk, popSignBytes(pk), pop)
}
