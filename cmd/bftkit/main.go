// Command bftkit runs and inspects bftkit validators.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "bftkit:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "bftkit",
		Short:         "A Byzantine-fault-tolerant consensus engine: HotStuff, PBFT and Raft behind one node",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newVersionCmd(), newKeysCmd(), newNodeCmd(), newTestnetCmd(), newLoadCmd(), newSimCmd(), newBenchCmd())
	return root
}
