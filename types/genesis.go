package types

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/bftkit/bftkit/crypto"
)

var chainIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Genesis is the chain's starting point, shared by every validator as a JSON
// file (read by config.LoadGenesis). A validator's index is its position in
// Validators.
type Genesis struct {
	ChainID    string             `json:"chain_id"`
	Validators []GenesisValidator `json:"validators"`
	// AppState is handed to the application's InitChain unchanged.
	AppState json.RawMessage `json:"app_state,omitempty"`
}

// GenesisValidator is one validator's entry, with hex-encoded key material.
type GenesisValidator struct {
	Name    string `json:"name,omitempty"`
	PubKey  string `json:"pub_key"`
	PoP     string `json:"proof_of_possession"`
	PeerID  string `json:"peer_id,omitempty"`
	Address string `json:"address,omitempty"`
}

// ParseGenesis decodes and validates genesis JSON, returning the validator
// set it defines. Unknown fields are errors: a misspelt field must not be
// silently ignored on a chain's first day.
func ParseGenesis(data []byte) (*Genesis, *ValidatorSet, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var g Genesis
	if err := dec.Decode(&g); err != nil {
		return nil, nil, fmt.Errorf("not valid genesis JSON: %w", err)
	}
	if dec.More() {
		return nil, nil, errors.New("trailing data after the genesis object")
	}
	vs, err := g.Validate()
	if err != nil {
		return nil, nil, err
	}
	return &g, vs, nil
}

// Validate checks every field and builds the validator set. The error names
// the first bad field, e.g. "validators[2].proof_of_possession: ...".
func (g *Genesis) Validate() (*ValidatorSet, error) {
	if err := validateChainID(g.ChainID); err != nil {
		return nil, err
	}
	if len(g.Validators) == 0 {
		return nil, errors.New("validators: at least one validator is required")
	}
	if len(g.Validators) > MaxValidators {
		return nil, fmt.Errorf("validators: %d exceeds the limit of %d", len(g.Validators), MaxValidators)
	}
	if len(g.AppState) > 0 && !json.Valid(g.AppState) {
		return nil, errors.New("app_state: not valid JSON")
	}
	vals := make([]Validator, len(g.Validators))
	for i, gv := range g.Validators {
		v, err := gv.toValidator(ValidatorIndex(i))
		if err != nil {
			return nil, fmt.Errorf("validators[%d].%w", i, err)
		}
		vals[i] = v
	}
	vs, err := NewValidatorSet(vals)
	if err != nil {
		return nil, err
	}
	return vs, nil
}

func validateChainID(id string) error {
	switch {
	case id == "":
		return errors.New("chain_id: required")
	case len(id) > MaxChainIDLen:
		return fmt.Errorf("chain_id: %d characters exceeds the limit of %d", len(id), MaxChainIDLen)
	case !chainIDPattern.MatchString(id):
		return fmt.Errorf("chain_id: %q may contain only letters, digits, '.', '_' and '-', starting with a letter or digit", id)
	}
	return nil
}

// toValidator decodes one entry; its errors start with the field name so
// that Validate can prefix the entry's position.
func (gv GenesisValidator) toValidator(index ValidatorIndex) (Validator, error) {
	pkBytes, err := hex.DecodeString(gv.PubKey)
	if err != nil {
		return Validator{}, fmt.Errorf("pub_key: not hex: %w", err)
	}
	pk, err := crypto.PublicKeyFromBytes(pkBytes)
	if err != nil {
		return Validator{}, fmt.Errorf("pub_key: %w", err)
	}
	// The PoP itself is verified once, by NewValidatorSet.
	popBytes, err := hex.DecodeString(gv.PoP)
	if err != nil {
		return Validator{}, fmt.Errorf("proof_of_possession: not hex: %w", err)
	}
	pop, err := crypto.SignatureFromBytes(popBytes)
	if err != nil {
		return Validator{}, fmt.Errorf("proof_of_possession: %w", err)
	}
	if gv.Address != "" && !strings.HasPrefix(gv.Address, "/") {
		return Validator{}, fmt.Errorf("address: %q is not a multiaddr (like /ip4/127.0.0.1/tcp/26656)", gv.Address)
	}
	return Validator{Index: index, PubKey: pk, PoP: pop, PeerID: gv.PeerID, Address: gv.Address}, nil
}

// GenesisValidatorFor returns the genesis entry for a validator key.
func GenesisValidatorFor(sk *crypto.SecretKey, name, peerID, address string) GenesisValidator {
	return GenesisValidator{
		Name:    name,
		PubKey:  hex.EncodeToString(sk.PublicKey().Bytes()),
		PoP:     hex.EncodeToString(crypto.ProvePossession(sk).Bytes()),
		PeerID:  peerID,
		Address: address,
	}
}
