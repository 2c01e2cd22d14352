package crypto

import (
	"crypto/rand"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
)

// GenerateKey draws a secret key from the operating system's CSPRNG.
func GenerateKey() (*SecretKey, error) {
	// 64 random bytes reduced mod r: the bias is below 2^-250.
	var buf [64]byte
	if _, err := rand.Read(buf[:]); err != nil {
		return nil, fmt.Errorf("crypto: reading randomness: %w", err)
	}
	return keyFromWideBytes(buf)
}

// DeterministicKey derives the index-th key from seed. It is for tests and
// simulations only: anyone who knows the seed knows the key.
func DeterministicKey(seed []byte, index uint32) *SecretKey {
	h := sha512.New()
	h.Write([]byte("bftkit/test-key/v1"))
	h.Write(binary.BigEndian.AppendUint32(nil, index))
	h.Write(seed)
	var buf [64]byte
	copy(buf[:], h.Sum(nil))
	sk, err := keyFromWideBytes(buf)
	if err != nil {
		// A SHA-512 output reducing to zero mod r has probability 2^-255.
		panic(fmt.Sprintf("crypto: deterministic key %d: %v", index, err))
	}
	return sk
}

func keyFromWideBytes(buf [64]byte) (*SecretKey, error) {
	sk := new(SecretKey)
	if err := sk.k.SetLittleEndianMod(buf[:]); err != nil {
		return nil, fmt.Errorf("crypto: deriving key: %w", err)
	}
	if sk.k.IsZero() {
		return nil, ErrZeroSecretKey
	}
	return sk, nil
}
