package crypto_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bftkit/bftkit/crypto"
)

// The seed corpora in testdata/fuzz are written by
// `go run ./internal/tools/fuzzcorpus`; the f.Add seeds below cover the same
// ground so that a target still has good inputs without them.

func fuzzKey(i uint32) *crypto.SecretKey {
	return crypto.DeterministicKey([]byte("crypto-fuzz"), i)
}

// fuzzMsg is the message FuzzSignatureFromBytes checks decoded signatures
// against.
var fuzzMsg = []byte("bftkit crypto fuzz message")

func FuzzPublicKeyFromBytes(f *testing.F) {
	for i := range uint32(3) {
		f.Add(fuzzKey(i).PublicKey().Bytes())
	}
	good := fuzzKey(0).PublicKey().Bytes()
	f.Add([]byte{})
	f.Add(good[:crypto.PublicKeySize-1])
	f.Add(append(bytes.Clone(good), 0))
	f.Add(make([]byte, crypto.PublicKeySize)) // no compression flag
	inf := make([]byte, crypto.PublicKeySize)
	inf[0] = 0xc0 // compressed point at infinity
	f.Add(inf)
	f.Add(bytes.Repeat([]byte{0xff}, crypto.PublicKeySize))
	flipped := bytes.Clone(good)
	flipped[0] ^= 0x20 // the other y
	f.Add(flipped)

	f.Fuzz(func(t *testing.T, b []byte) {
		pk, err := crypto.PublicKeyFromBytes(b)
		if err != nil {
			return
		}
		require.Len(t, b, crypto.PublicKeySize)
		// One encoding per point: a decoder that accepted two encodings of
		// one key would let a genesis file list one validator twice.
		require.Equal(t, b, pk.Bytes(), "accepted a non-canonical encoding")
		require.Equal(t, hex.EncodeToString(b), pk.String())
		again, err := crypto.PublicKeyFromBytes(pk.Bytes())
		require.NoError(t, err)
		require.True(t, pk.Equal(again))
	})
}

func FuzzSignatureFromBytes(f *testing.F) {
	sk := fuzzKey(0)
	good := crypto.Sign(sk, fuzzMsg).Bytes()
	f.Add(good)
	f.Add(crypto.Sign(fuzzKey(1), fuzzMsg).Bytes())
	f.Add(crypto.ProvePossession(sk).Bytes())
	f.Add([]byte{})
	f.Add(good[:crypto.SignatureSize-1])
	f.Add(append(bytes.Clone(good), 0))
	f.Add(make([]byte, crypto.SignatureSize))
	inf := make([]byte, crypto.SignatureSize)
	inf[0] = 0xc0
	f.Add(inf)
	f.Add(bytes.Repeat([]byte{0xff}, crypto.SignatureSize))
	flipped := bytes.Clone(good)
	flipped[0] ^= 0x20
	f.Add(flipped)

	pk := sk.PublicKey()
	f.Fuzz(func(t *testing.T, b []byte) {
		sig, err := crypto.SignatureFromBytes(b)
		if err != nil {
			return
		}
		require.Len(t, b, crypto.SignatureSize)
		require.Equal(t, b, sig.Bytes(), "accepted a non-canonical encoding")
		again, err := crypto.SignatureFromBytes(sig.Bytes())
		require.NoError(t, err)
		require.True(t, sig.Equal(again))
		// Whatever decodes, only the real signature verifies.
		if crypto.Verify(pk, fuzzMsg, sig) {
			require.Equal(t, good, b, "a signature other than sk's verified")
		}
	})
}

// fuzzKeyFileJSON is the key file SaveKeyFile writes for sk.
func fuzzKeyFileJSON(f *testing.F, sk *crypto.SecretKey) []byte {
	path := filepath.Join(f.TempDir(), "key.json")
	require.NoError(f, crypto.SaveKeyFile(path, sk))
	data, err := os.ReadFile(path)
	require.NoError(f, err)
	return data
}

// fuzzKeyFileFields mirrors the key file's JSON shape, to check what
// ParseKeyFile accepted.
type fuzzKeyFileFields struct {
	Type      string `json:"type"`
	SecretKey string `json:"secret_key"`
	PublicKey string `json:"public_key"`
	PoP       string `json:"proof_of_possession"`
}

func FuzzParseKeyFile(f *testing.F) {
	sk0, sk1 := fuzzKey(0), fuzzKey(1)
	good := fuzzKeyFileJSON(f, sk0)
	f.Add(good)
	f.Add(fuzzKeyFileJSON(f, sk1))
	f.Add([]byte{})
	f.Add([]byte("{}"))
	f.Add([]byte("null"))
	f.Add(good[:len(good)/2])
	f.Add(bytes.Replace(good, []byte(crypto.KeyFileType), []byte("ed25519"), 1))
	// Another key's PoP.
	pop0 := hex.EncodeToString(crypto.ProvePossession(sk0).Bytes())
	pop1 := hex.EncodeToString(crypto.ProvePossession(sk1).Bytes())
	f.Add(bytes.Replace(good, []byte(pop0), []byte(pop1), 1))
	// Another key's public key.
	pk0 := hex.EncodeToString(sk0.PublicKey().Bytes())
	pk1 := hex.EncodeToString(sk1.PublicKey().Bytes())
	f.Add(bytes.Replace(good, []byte(pk0), []byte(pk1), 1))
	// A zero secret key.
	f.Add(bytes.Replace(good, []byte(hex.EncodeToString(sk0.Bytes())), bytes.Repeat([]byte("0"), 2*crypto.SecretKeySize), 1))

	f.Fuzz(func(t *testing.T, data []byte) {
		sk, err := crypto.ParseKeyFile(data)
		if err != nil {
			return
		}
		var kf fuzzKeyFileFields
		require.NoError(t, json.Unmarshal(data, &kf))
		require.Equal(t, crypto.KeyFileType, kf.Type)
		skBytes, err := hex.DecodeString(kf.SecretKey)
		require.NoError(t, err)
		require.Equal(t, skBytes, sk.Bytes(), "secret key does not round-trip")
		pk := sk.PublicKey()
		pkBytes, err := hex.DecodeString(kf.PublicKey)
		require.NoError(t, err)
		require.Equal(t, pkBytes, pk.Bytes(), "public key does not match the secret key")
		popBytes, err := hex.DecodeString(kf.PoP)
		require.NoError(t, err)
		pop, err := crypto.SignatureFromBytes(popBytes)
		require.NoError(t, err)
		require.True(t, crypto.VerifyPossession(pk, pop))
	})
}
