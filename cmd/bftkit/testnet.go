package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// errTestnetNotBuilt is returned until the local testnet lands: the command
// exists so that the README's first command gives a clear answer meanwhile.
var errTestnetNotBuilt = errors.New("the local testnet is not built yet: it arrives with the validator node " +
	"and the testnet launcher (see docs/ARCHITECTURE.md, 'Status'); today bftkit ships its foundation: " +
	"types, BLS crypto and quorum certificates")

func newTestnetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "testnet",
		Short: "Start a local 4-validator network (not built yet)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return errTestnetNotBuilt
		},
	}
}
