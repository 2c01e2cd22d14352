package config

import (
	"fmt"
	"io"
	"os"

	"github.com/bftkit/bftkit/types"
)

// maxGenesisBytes bounds a genesis file; the largest allowed validator set
// takes about 400 KiB, the rest is room for the initial app state.
const maxGenesisBytes = 16 << 20

// LoadGenesis reads and validates a genesis file (its format and rules are
// types.ParseGenesis's) and returns the validator set it defines. Every
// error names the file and the offending field.
func LoadGenesis(path string) (*types.Genesis, *types.ValidatorSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("genesis %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxGenesisBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("genesis %s: %w", path, err)
	}
	if len(data) > maxGenesisBytes {
		return nil, nil, fmt.Errorf("genesis %s: larger than %d bytes", path, maxGenesisBytes)
	}
	g, vs, err := types.ParseGenesis(data)
	if err != nil {
		return nil, nil, fmt.Errorf("genesis %s: %w", path, err)
	}
	return g, vs, nil
}
