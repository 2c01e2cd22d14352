package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/bftkit/bftkit/app"
	"github.com/bftkit/bftkit/config"
	"github.com/bftkit/bftkit/crypto"
	"github.com/bftkit/bftkit/node"
	"github.com/bftkit/bftkit/types"
)

func newNodeCmd() *cobra.Command {
	var home, byz string
	cmd := &cobra.Command{
		Use:   "node --home DIR",
		Short: "Run one validator from its home directory (see 'bftkit testnet init')",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runNode(ctx, home, byz)
		},
	}
	cmd.Flags().StringVar(&home, "home", "", "the validator's home directory (config.toml, genesis.json, validator.key, data/)")
	cmd.Flags().StringVar(&byz, "byzantine", "", "run as a Byzantine validator, for experiments (by protocol: "+behaviourHelp()+")")
	_ = cmd.MarkFlagRequired("home")
	return cmd
}

// runNode runs the validator in home until ctx ends (SIGINT or SIGTERM),
// then stops it cleanly: everything committed is already durable, so the
// stop only closes the transport, the store and the application.
func runNode(ctx context.Context, home, byz string) error {
	f, err := config.Load(home)
	if err != nil {
		return err
	}
	if byz != "" {
		f.Byzantine = byz
	}
	log := newLogger(f.Log)
	cfg, err := nodeConfig(home, f, log)
	if err != nil {
		return err
	}
	kv, err := app.NewKVStore(filepath.Join(config.Path(home, f.DataDir), "app"))
	if err != nil {
		return err
	}
	defer kv.Close()
	cfg.App = kv
	n, err := node.New(cfg)
	if err != nil {
		return err
	}
	n.Start()
	select {
	case <-ctx.Done():
		log.Info("stopping on signal")
	case <-n.Done(): // stopped itself on a fatal error
	case <-n.Halting(): // consensus halted: Stop returns why, and the exit status is non-zero
	}
	return n.Stop()
}

// nodeConfig builds the node's configuration from a home directory. The
// validator's index is where its public key appears in genesis: a config
// cannot name one validator while holding another's key.
func nodeConfig(home string, f *config.File, log *slog.Logger) (node.Config, error) {
	g, vs, err := config.LoadGenesis(config.Path(home, f.GenesisFile))
	if err != nil {
		return node.Config{}, err
	}
	sk, err := crypto.LoadKeyFile(config.Path(home, f.KeyFile))
	if err != nil {
		return node.Config{}, err
	}
	self, ok := validatorIndex(vs, sk)
	if !ok {
		return node.Config{}, fmt.Errorf("%s: this key's public key %s is not a validator in %s",
			config.Path(home, f.KeyFile), sk.PublicKey(), config.Path(home, f.GenesisFile))
	}
	cfg := node.DefaultConfig()
	cfg.Genesis, cfg.Set, cfg.Self, cfg.Key = g, vs, self, sk
	cfg.Protocol, cfg.Byzantine = f.Protocol, f.Byzantine
	cfg.DataDir = filepath.Join(config.Path(home, f.DataDir), "blocks")
	cfg.P2PListen, cfg.HTTPListen = f.P2PListen, f.HTTPListen
	cfg.Pprof = f.DebugPprof
	cfg.TickInterval = f.Consensus.TickInterval.Duration
	cfg.EmptyBlockInterval = f.Consensus.EmptyBlockInterval.Duration
	cfg.ViewTimeout, cfg.MaxViewTimeout = f.Consensus.ViewTimeout.Duration, f.Consensus.MaxViewTimeout.Duration
	if f.Consensus.VerifyWorkers > 0 {
		cfg.VerifyWorkers = f.Consensus.VerifyWorkers
	}
	cfg.Mempool.MaxTxs, cfg.Mempool.MaxBytes = f.Mempool.MaxTxs, f.Mempool.MaxBytes
	cfg.Mempool.TTLHeights = f.Mempool.TTLHeights
	cfg.Log = log
	return cfg, nil
}

func validatorIndex(vs *types.ValidatorSet, sk *crypto.SecretKey) (types.ValidatorIndex, bool) {
	pk := sk.PublicKey()
	for i := range vs.N() {
		if vs.PubKey(types.ValidatorIndex(i)).Equal(pk) {
			return types.ValidatorIndex(i), true
		}
	}
	return 0, false
}

func newLogger(c config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
