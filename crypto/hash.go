package crypto

import "crypto/sha256"

// HashSize is the size of a SHA-256 digest.
const HashSize = sha256.Size

// Hash is a SHA-256 digest.
type Hash = [HashSize]byte

// Sum256 hashes b with SHA-256.
func Sum256(b []byte) Hash { return sha256.Sum256(b) }

// Merkle tree node prefixes (RFC 6962 §2.1): distinct prefixes for leaves and
// inner nodes make a leaf impossible to pass off as a subtree.
const (
	merkleLeafPrefix  = 0x00
	merkleInnerPrefix = 0x01
)

// MerkleRoot is the RFC 6962 Merkle tree hash of leaves. The root of no
// leaves is SHA-256 of the empty string.
func MerkleRoot(leaves [][]byte) Hash {
	if len(leaves) == 0 {
		return sha256.Sum256(nil)
	}
	level := make([]Hash, len(leaves))
	for i, l := range leaves {
		level[i] = leafHash(l)
	}
	return merkleFold(level)
}

func leafHash(leaf []byte) Hash {
	h := sha256.New()
	h.Write([]byte{merkleLeafPrefix})
	h.Write(leaf)
	var out Hash
	h.Sum(out[:0])
	return out
}

func innerHash(left, right Hash) Hash {
	var buf [1 + 2*HashSize]byte
	buf[0] = merkleInnerPrefix
	copy(buf[1:], left[:])
	copy(buf[1+HashSize:], right[:])
	return sha256.Sum256(buf[:])
}

// merkleFold reduces a level in place. An odd node is promoted unchanged,
// which matches RFC 6962's split at the largest power of two for the
// left-balanced trees it defines.
func merkleFold(level []Hash) Hash {
	for len(level) > 1 {
		next := level[:0]
		for i := 0; i < len(level); i += 2 {
			if i+1 == len(level) {
				next = append(next, level[i])
				continue
			}
			next = append(next, innerHash(level[i], level[i+1]))
		}
		level = next
	}
	return level[0]
}
