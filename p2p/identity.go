package p2p

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	"github.com/bftkit/bftkit/crypto"
	libp2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// identityDomain separates the libp2p identity seed from every other use
// of the validator's secret.
const identityDomain = "bftkit/p2p-identity/v1"

// Identity derives the validator's libp2p identity (an ed25519 key) from
// its BLS secret key, so a validator has one key file and its peer ID is a
// function of it: `bftkit keys show` can print the peer ID that genesis
// lists. The derivation is one-way; the libp2p key reveals nothing about
// the BLS key.
func Identity(sk *crypto.SecretKey) (libp2pcrypto.PrivKey, peer.ID, error) {
	h := sha256.New()
	h.Write([]byte(identityDomain))
	h.Write(sk.Bytes())
	seed := h.Sum(nil)
	priv, _, err := libp2pcrypto.GenerateEd25519Key(bytes.NewReader(seed))
	if err != nil {
		return nil, "", fmt.Errorf("p2p identity: %w", err)
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		return nil, "", fmt.Errorf("p2p identity: %w", err)
	}
	return priv, id, nil
}
