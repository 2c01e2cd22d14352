package crypto

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func testKeys(n int) []*SecretKey {
	keys := make([]*SecretKey, n)
	for i := range keys {
		keys[i] = DeterministicKey([]byte("crypto-test"), uint32(i))
	}
	return keys
}

func pubs(keys []*SecretKey) []PublicKey {
	out := make([]PublicKey, len(keys))
	for i, k := range keys {
		out[i] = k.PublicKey()
	}
	return out
}

func TestSignVerify(t *testing.T) {
	keys := testKeys(2)
	msg := []byte("bftkit test message")
	sig := Sign(keys[0], msg)
	require.True(t, Verify(keys[0].PublicKey(), msg, sig))
	require.False(t, Verify(keys[1].PublicKey(), msg, sig), "another key must not verify")
	require.False(t, Verify(keys[0].PublicKey(), []byte("bftkit test messagE"), sig), "another message must not verify")
}

func TestDeterministicKeysAreStableAndDistinct(t *testing.T) {
	a := DeterministicKey([]byte("seed"), 0)
	b := DeterministicKey([]byte("seed"), 0)
	c := DeterministicKey([]byte("seed"), 1)
	d := DeterministicKey([]byte("other"), 0)
	require.Equal(t, a.Bytes(), b.Bytes())
	require.NotEqual(t, a.Bytes(), c.Bytes())
	require.NotEqual(t, a.Bytes(), d.Bytes())
}

func TestGenerateKeyIsRandom(t *testing.T) {
	a, err := GenerateKey()
	require.NoError(t, err)
	b, err := GenerateKey()
	require.NoError(t, err)
	require.NotEqual(t, a.Bytes(), b.Bytes())
	require.Equal(t, "SecretKey(redacted)", a.String())
	require.Equal(t, "SecretKey(redacted)", fmt.Sprint(a))
}

func TestSerializationRoundTrips(t *testing.T) {
	sk := testKeys(1)[0]
	pk, err := PublicKeyFromBytes(sk.PublicKey().Bytes())
	require.NoError(t, err)
	require.True(t, pk.Equal(sk.PublicKey()))
	sig := Sign(sk, []byte("m"))
	sig2, err := SignatureFromBytes(sig.Bytes())
	require.NoError(t, err)
	require.True(t, sig.Equal(sig2))
	sk2, err := SecretKeyFromBytes(sk.Bytes())
	require.NoError(t, err)
	require.Equal(t, sk.Bytes(), sk2.Bytes())
}

func TestDecodingRejectsBadInput(t *testing.T) {
	pk := testKeys(1)[0].PublicKey().Bytes()
	_, err := PublicKeyFromBytes(pk[:47])
	require.ErrorIs(t, err, ErrPublicKeyLength)
	notOnCurve := bytes.Repeat([]byte{0x9f}, PublicKeySize)
	_, err = PublicKeyFromBytes(notOnCurve)
	require.Error(t, err)
	infinity := make([]byte, PublicKeySize)
	infinity[0] = 0xc0 // compressed encoding of the point at infinity
	_, err = PublicKeyFromBytes(infinity)
	require.Error(t, err, "the identity key would make any aggregate trivially valid")
	_, err = SignatureFromBytes(make([]byte, 95))
	require.ErrorIs(t, err, ErrSignatureLength)
	_, err = SignatureFromBytes(bytes.Repeat([]byte{0x9f}, SignatureSize))
	require.Error(t, err)
	_, err = SecretKeyFromBytes(make([]byte, SecretKeySize))
	require.Error(t, err, "zero secret key")
}

func TestProofOfPossession(t *testing.T) {
	keys := testKeys(2)
	pop := ProvePossession(keys[0])
	require.True(t, VerifyPossession(keys[0].PublicKey(), pop))
	require.False(t, VerifyPossession(keys[1].PublicKey(), pop), "a PoP proves one key only")
	// A signature over the bare public key (herumi's own PoP format, or any
	// message without our domain tag) is not a PoP.
	bare := Sign(keys[0], keys[0].PublicKey().Bytes())
	require.False(t, VerifyPossession(keys[0].PublicKey(), bare))
}

func TestFastAggregateVerify(t *testing.T) {
	keys := testKeys(4)
	msg := []byte("same message")
	sigs := make([]Signature, len(keys))
	for i, k := range keys {
		sigs[i] = Sign(k, msg)
	}
	agg, ok := AggregateSignatures(sigs)
	require.True(t, ok)
	require.True(t, FastAggregateVerify(pubs(keys), msg, agg))
	require.False(t, FastAggregateVerify(pubs(keys[:3]), msg, agg), "a missing signer's key")
	partial, _ := AggregateSignatures(sigs[:3])
	require.False(t, FastAggregateVerify(pubs(keys), msg, partial), "a missing signature")
	require.False(t, FastAggregateVerify(nil, msg, agg))
	_, ok = AggregateSignatures(nil)
	require.False(t, ok)
}

func TestAggregateVerifyDistinctMessages(t *testing.T) {
	keys := testKeys(4)
	m1, m2 := []byte("high qc view 5"), []byte("high qc view 6")
	// Keys 0, 1, 2 sign m1 and key 3 signs m2: two groups, one with an
	// equal message from several signers, which herumi's strict
	// AggregateVerify would refuse.
	agg, _ := AggregateSignatures([]Signature{Sign(keys[0], m1), Sign(keys[1], m1), Sign(keys[2], m1), Sign(keys[3], m2)})
	groups := []SignedGroup{{Msg: m1, Keys: pubs(keys[:3])}, {Msg: m2, Keys: pubs(keys[3:])}}
	require.True(t, AggregateVerify(groups, agg))
	swapped := []SignedGroup{{Msg: m2, Keys: pubs(keys[:3])}, {Msg: m1, Keys: pubs(keys[3:])}}
	require.False(t, AggregateVerify(swapped, agg))
	require.False(t, AggregateVerify(groups[:1], agg))
	require.False(t, AggregateVerify(nil, agg))
	require.False(t, AggregateVerify([]SignedGroup{{Msg: m1}}, agg), "a group without keys")
}

func TestAggKeyCacheEvictsLeastRecentlyUsed(t *testing.T) {
	keys := pubs(testKeys(3))
	c := NewAggKeyCache(2)
	calls := 0
	get := func(bitmap byte, ks ...PublicKey) PublicKey {
		k, ok := c.Get([]byte{bitmap}, func() []PublicKey { calls++; return ks })
		require.True(t, ok)
		return k
	}
	k01 := get(0b011, keys[0], keys[1])
	want, _ := AggregatePublicKeys(keys[:2])
	require.True(t, want.Equal(k01))
	get(0b110, keys[1], keys[2])
	get(0b011) // hit: keys func not called
	require.Equal(t, 2, calls)
	get(0b101, keys[0], keys[2]) // evicts 0b110, the least recently used
	require.Equal(t, 2, c.Len())
	get(0b011)
	require.Equal(t, 3, calls, "0b011 was used recently and must still be cached")
	get(0b110, keys[1], keys[2])
	require.Equal(t, 4, calls, "0b110 must have been evicted")
	_, ok := c.Get([]byte{0}, func() []PublicKey { return nil })
	require.False(t, ok, "no keys, no aggregate")
}

func TestKeyFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key.json")
	sk := testKeys(1)[0]
	require.NoError(t, SaveKeyFile(path, sk))
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	got, err := LoadKeyFile(path)
	require.NoError(t, err)
	require.Equal(t, sk.Bytes(), got.Bytes())
	err = SaveKeyFile(path, testKeys(2)[1])
	require.Error(t, err, "an existing key must never be overwritten")
	again, err := LoadKeyFile(path)
	require.NoError(t, err)
	require.Equal(t, sk.Bytes(), again.Bytes())
}

func TestKeyFileErrorsAreClear(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key.json")
	sk := testKeys(1)[0]
	require.NoError(t, SaveKeyFile(path, sk))
	good, err := os.ReadFile(path)
	require.NoError(t, err)

	require.NoError(t, os.Chmod(path, 0o644))
	_, err = LoadKeyFile(path)
	require.ErrorIs(t, err, ErrKeyFilePermissions)
	require.Contains(t, err.Error(), path)
	require.Contains(t, err.Error(), "0644")

	other := testKeys(2)[1]
	cases := map[string]struct {
		edit func(string) string
		want string
	}{
		"not json":      {func(string) string { return "{" }, "not valid JSON"},
		"wrong type":    {func(s string) string { return strings.Replace(s, KeyFileType, "ed25519", 1) }, `type: got "ed25519"`},
		"bad hex":       {func(s string) string { return strings.Replace(s, `"secret_key": "`, `"secret_key": "zz`, 1) }, "secret_key: not hex"},
		"mismatched pk": {func(s string) string { return replaceField(s, "public_key", other.PublicKey().String()) }, "public_key: does not match"},
		"bad pop": {func(s string) string {
			return replaceField(s, "proof_of_possession", fmt.Sprintf("%x", ProvePossession(other).Bytes()))
		}, "proof_of_possession: does not verify"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			require.NoError(t, os.WriteFile(p, []byte(tc.edit(string(good))), 0o600))
			_, err := LoadKeyFile(p)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.Contains(t, err.Error(), p)
		})
	}
	_, err = LoadKeyFile(filepath.Join(dir, "missing"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// replaceField sets a JSON string field of a key file by line.
func replaceField(s, field, value string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.Contains(l, `"`+field+`"`) {
			comma := strings.HasSuffix(l, ",")
			lines[i] = fmt.Sprintf(`  "%s": "%s"`, field, value)
			if comma {
				lines[i] += ","
			}
		}
	}
	return strings.Join(lines, "\n")
}

// naiveMerkleRoot is RFC 6962 §2.1 written as the recursion it states.
func naiveMerkleRoot(leaves [][]byte) Hash {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return sha256.Sum256(append([]byte{0}, leaves[0]...))
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := naiveMerkleRoot(leaves[:k]), naiveMerkleRoot(leaves[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

func TestMerkleRootMatchesRFC6962(t *testing.T) {
	for n := 0; n <= 70; n++ {
		leaves := make([][]byte, n)
		for i := range leaves {
			leaves[i] = []byte(fmt.Sprintf("tx-%d", i))
		}
		require.Equal(t, naiveMerkleRoot(leaves), MerkleRoot(leaves), "n=%d", n)
	}
}

func TestMerkleRootCommitsToOrderAndContent(t *testing.T) {
	a := MerkleRoot([][]byte{[]byte("a"), []byte("b")})
	require.NotEqual(t, a, MerkleRoot([][]byte{[]byte("b"), []byte("a")}))
	require.NotEqual(t, a, MerkleRoot([][]byte{[]byte("a"), []byte("c")}))
	require.NotEqual(t, a, MerkleRoot([][]byte{[]byte("ab")}))
}

// herumi decodes 0xc0 00…00 XX as the point at infinity for every XX (found
// by FuzzSignatureFromBytes). Only the canonical encoding of a real point
// may decode, so a signature has exactly one encoding.
func TestSignatureEncodingIsCanonical(t *testing.T) {
	for _, last := range []byte{0, 1, 0x7f, 0xff} {
		b := make([]byte, SignatureSize)
		b[0], b[SignatureSize-1] = 0xc0, last
		_, err := SignatureFromBytes(b)
		require.Error(t, err, "last byte %#x", last)
	}
	good := Sign(testKeys(1)[0], []byte("m")).Bytes()
	_, err := SignatureFromBytes(good)
	require.NoError(t, err)
}

func TestKeyFileAcceptsEitherHexCase(t *testing.T) {
	sk := testKeys(1)[0]
	path := filepath.Join(t.TempDir(), "key.json")
	require.NoError(t, SaveKeyFile(path, sk))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	pk := sk.PublicKey().String()
	upper := strings.Replace(string(data), pk, strings.ToUpper(pk), 1)
	got, err := ParseKeyFile([]byte(upper))
	require.NoError(t, err)
	require.Equal(t, sk.Bytes(), got.Bytes())
}
