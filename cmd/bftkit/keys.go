package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bftkit/bftkit/crypto"
	"github.com/bftkit/bftkit/p2p"
	"github.com/bftkit/bftkit/types"
)

func newKeysCmd() *cobra.Command {
	keys := &cobra.Command{Use: "keys", Short: "Create and inspect validator keys"}
	keys.AddCommand(newKeysGenCmd(), newKeysShowCmd())
	return keys
}

func newKeysGenCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "gen --out FILE",
		Short: "Generate a BLS validator key into a new file (mode 0600)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sk, err := crypto.GenerateKey()
			if err != nil {
				return err
			}
			if err := crypto.SaveKeyFile(out, sk); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\npublic key: %s\n", out, sk.PublicKey())
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "path of the key file to create (never overwritten)")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func newKeysShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show FILE",
		Short: "Print a key file's genesis entry (public key, proof of possession, libp2p peer ID)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sk, err := crypto.LoadKeyFile(args[0])
			if err != nil {
				return err
			}
			_, peerID, err := p2p.Identity(sk)
			if err != nil {
				return err
			}
			entry, err := json.MarshalIndent(types.GenesisValidatorFor(sk, "", peerID.String(), ""), "", "  ")
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(entry))
			return nil
		},
	}
}
