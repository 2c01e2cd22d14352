package crypto_test

import (
	"fmt"
	"testing"

	"github.com/bftkit/bftkit/canonical"
	"github.com/bftkit/bftkit/crypto"
)

// benchMsg has the shape of a vote's sign bytes: domain, chain ID, view and
// block ID.
var benchMsg = canonical.New("bftkit/hotstuff/vote/v1", "bftkit-bench").Uint64(42).Fixed(make([]byte, crypto.HashSize)).Sum()

func benchKeys(n int) []*crypto.SecretKey {
	keys := make([]*crypto.SecretKey, n)
	for i := range keys {
		keys[i] = crypto.DeterministicKey([]byte("crypto-bench"), uint32(i))
	}
	return keys
}

func BenchmarkSign(b *testing.B) {
	sk := benchKeys(1)[0]
	b.ReportAllocs()
	for b.Loop() {
		crypto.Sign(sk, benchMsg)
	}
}

func BenchmarkVerify(b *testing.B) {
	sk := benchKeys(1)[0]
	pk, sig := sk.PublicKey(), crypto.Sign(sk, benchMsg)
	b.ReportAllocs()
	for b.Loop() {
		if !crypto.Verify(pk, benchMsg, sig) {
			b.Fatal("signature does not verify")
		}
	}
}

func BenchmarkAggregateSignatures(b *testing.B) {
	for _, n := range []int{4, 16, 64, 256} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			sigs := make([]crypto.Signature, n)
			for i, sk := range benchKeys(n) {
				sigs[i] = crypto.Sign(sk, benchMsg)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := crypto.AggregateSignatures(sigs); !ok {
					b.Fatal("no aggregate")
				}
			}
		})
	}
}
