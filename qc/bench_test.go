package qc_test

import (
	"fmt"
	"testing"

	"github.com/bftkit/bftkit/qc"
	"github.com/bftkit/bftkit/types/typestest"
)

// Fixtures are built before b.Loop, which starts the timer: the n=256 set
// alone verifies 256 proofs of possession (about half a second).

// BenchmarkVerifyQC verifies a QC signed by the first quorum of n validators.
//
// warm: the aggregated key of the signer bitmap is cached, as it is for
// nearly every QC in steady state; the cost is one signature check.
//
// cold: a fresh Verifier per operation, so every check first adds the
// quorum's public keys. A Verifier is only a reference to the (already
// validated) set plus an empty cache, so building one costs a few hundred
// nanoseconds and a handful of allocations next to the pairing.
func BenchmarkVerifyQC(b *testing.B) {
	for _, n := range []int{4, 16, 64, 256} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			fx := typestest.Validators(n, 1)
			id := typestest.Block(9, 1, 8).ID()
			cert := fx.QC(9, id, typestest.First(fx.Set.Quorum())...)
			b.Run("warm", func(b *testing.B) {
				v := qc.NewVerifier(typestest.ChainID, fx.Set)
				if err := v.VerifyQC(cert); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if err := v.VerifyQC(cert); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("cold", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := qc.NewVerifier(typestest.ChainID, fx.Set).VerifyQC(cert); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkVerifyTC verifies a TC of the first quorum of n validators whose
// high QCs are of two distinct views, so verification checks two messages.
func BenchmarkVerifyTC(b *testing.B) {
	for _, n := range []int{4, 16, 64} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			fx := typestest.Validators(n, 1)
			signers := typestest.First(fx.Set.Quorum())
			highQCViews := make([]uint64, len(signers))
			for k := range highQCViews {
				highQCViews[k] = 8 + uint64(k%2)
			}
			cert := fx.TC(10, signers, highQCViews)
			v := qc.NewVerifier(typestest.ChainID, fx.Set)
			if err := v.VerifyTC(cert); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := v.VerifyTC(cert); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
