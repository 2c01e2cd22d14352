package node

import (
	"fmt"

	"github.com/bftkit/bftkit/crypto"
	"github.com/bftkit/bftkit/p2p"
	"github.com/bftkit/bftkit/types"
)

// NewGenesis builds the genesis of a chain whose validators hold keys,
// listening on the given libp2p multiaddrs (one per key; "" for one that
// dials in). Each validator's peer ID is derived from its key, as the node
// derives its libp2p identity, so the file and the nodes always agree.
func NewGenesis(chainID string, keys []*crypto.SecretKey, addrs []string) (*types.Genesis, *types.ValidatorSet, error) {
	if len(addrs) != len(keys) {
		return nil, nil, fmt.Errorf("genesis: %d addresses for %d keys", len(addrs), len(keys))
	}
	g := &types.Genesis{ChainID: chainID}
	for i, sk := range keys {
		_, id, err := p2p.Identity(sk)
		if err != nil {
			return nil, nil, err
		}
		g.Validators = append(g.Validators, types.GenesisValidatorFor(sk, fmt.Sprintf("validator-%d", i), id.String(), addrs[i]))
	}
	vs, err := g.Validate()
	if err != nil {
		return nil, nil, err
	}
	return g, vs, nil
}
