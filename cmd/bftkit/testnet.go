package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/bftkit/bftkit/config"
	"github.com/bftkit/bftkit/loadgen"
	"github.com/bftkit/bftkit/node"
	"github.com/bftkit/bftkit/types"
)

// testnetOptions describe a local testnet run.
type testnetOptions struct {
	protocol  string
	nodes     int
	byzantine string
	loadRate  float64
	txSize    int
	duration  time.Duration
	json      bool
	home      string
	pprof     bool
	// viewTimeout overrides every validator's consensus.view_timeout.
	viewTimeout time.Duration
	// interrupt is closed on the first Ctrl-C (or SIGTERM, SIGHUP): stop
	// the load, let it drain briefly, and stop. A second one cancels the
	// run's context at once.
	interrupt <-chan struct{}
}

// interruptions closes the returned channel on the first SIGINT, SIGTERM
// or SIGHUP (a closed terminal), and cancels on the second.
func interruptions(ctx context.Context, cancel context.CancelFunc) <-chan struct{} {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	first := make(chan struct{})
	go func() {
		defer signal.Stop(sigs)
		select {
		case <-sigs:
			close(first)
		case <-ctx.Done():
			return
		}
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
		}
	}()
	return first
}

func newTestnetCmd() *cobra.Command {
	var o testnetOptions
	cmd := &cobra.Command{
		Use:   "testnet",
		Short: "Start a local testnet (4 HotStuff validators, kvstore app, light load) until Ctrl-C",
		Long: `testnet starts validators as separate processes on loopback ports (real libp2p,
LevelDB and BLS), drives a light load of key=value transactions, and prints one
status line per second: height, view, leader, committed tx/s, latency p50.
Ctrl-C stops every validator cleanly and prints a summary.

The validators' homes (keys, genesis, config, data, node logs) live in a
temporary directory that is removed at the end, or in --home, which is kept.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			o.interrupt = interruptions(ctx, cancel)
			return runTestnet(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.protocol, "protocol", "hotstuff", "consensus protocol: "+strings.Join(config.Protocols, ", "))
	fl.IntVar(&o.nodes, "nodes", 4, "number of validators")
	fl.StringVar(&o.byzantine, "byzantine", "", "Byzantine validators by index, e.g. 3=equivocate,2=silent (known, by protocol: "+behaviourHelp()+")")
	fl.Float64Var(&o.loadRate, "load-rate", 200, "transactions per second to submit (0: no load; unlike 'bftkit load --rate 0', which means as fast as accepted)")
	fl.IntVar(&o.txSize, "tx-size", 100, "bytes per transaction")
	fl.DurationVar(&o.duration, "duration", 0, "stop the load after this long, let it drain (up to 30 s) and stop (0: run until Ctrl-C)")
	fl.BoolVar(&o.json, "json", false, "print a final summary as JSON instead of status lines")
	fl.StringVar(&o.home, "home", "", "keep the validators' homes here (default: a temporary directory, removed at the end)")
	fl.DurationVar(&o.viewTimeout, "view-timeout", 0, "every validator's consensus.view_timeout (0: the protocol's default)")
	fl.BoolVar(&o.pprof, "pprof", false, "serve Go's profiler on each validator's HTTP API, at /debug/pprof/ (e.g. go tool pprof http://ADDR/debug/pprof/profile?seconds=10)")
	cmd.AddCommand(newTestnetInitCmd())
	return cmd
}

func (o *testnetOptions) check() (map[types.ValidatorIndex]string, error) {
	switch {
	case o.nodes < 1 || o.nodes > 64:
		return nil, fmt.Errorf("--nodes: %d is outside 1..64 (a local testnet shares this machine)", o.nodes)
	case !(o.loadRate >= 0) || math.IsInf(o.loadRate, 1):
		return nil, fmt.Errorf("--load-rate: %v is not a rate of transactions per second ≥ 0", o.loadRate)
	case o.loadRate > 0 && o.txSize < loadgen.MinTxSize:
		return nil, fmt.Errorf("--tx-size: %d is below the %d bytes a load transaction needs", o.txSize, loadgen.MinTxSize)
	case o.txSize > types.MaxTxBytes:
		return nil, fmt.Errorf("--tx-size: %d exceeds the transaction limit of %d bytes", o.txSize, types.MaxTxBytes)
	case o.duration < 0:
		return nil, fmt.Errorf("--duration: must not be negative")
	case o.viewTimeout < 0 || (o.viewTimeout > 0 && o.viewTimeout < time.Millisecond):
		return nil, fmt.Errorf("--view-timeout: %s is neither 0 (the protocol's default) nor at least 1ms", o.viewTimeout)
	}
	byz, err := parseByzantine(o.byzantine)
	if err != nil {
		return nil, err
	}
	if f := (o.nodes - 1) / 3; len(byz) > f {
		return nil, fmt.Errorf("--byzantine: %d Byzantine validators of %d; BFT tolerates at most f = %d (add --nodes, or expect the chain to stall or fork)", len(byz), o.nodes, f)
	}
	known := node.ByzantineBehaviours(o.protocol)
	for i, name := range byz {
		if int(i) >= o.nodes {
			return nil, fmt.Errorf("--byzantine: validator %d does not exist (validators are 0..%d)", i, o.nodes-1)
		}
		if !slices.Contains(known, name) {
			return nil, fmt.Errorf("--byzantine: unknown behaviour %q (known: %s)", name, strings.Join(known, ", "))
		}
	}
	return byz, nil
}

// behaviourHelp lists the Byzantine behaviours of each protocol.
func behaviourHelp() string {
	var parts []string
	for _, p := range config.Protocols {
		parts = append(parts, p+": "+strings.Join(node.ByzantineBehaviours(p), ", "))
	}
	return strings.Join(parts, "; ")
}

// runTestnet writes the homes, starts one process per validator, drives
// the load and reports until ctx ends or the duration passes, then stops
// every validator and prints the summary.
func runTestnet(ctx context.Context, o testnetOptions, stdout, stderr io.Writer) error {
	byz, err := o.check()
	if err != nil {
		return err
	}
	home, cleanup, err := testnetHome(o.home)
	if err != nil {
		return err
	}
	defer cleanup()
	net, err := launchTestnet(home, initOptions{nodes: o.nodes, protocol: o.protocol, chainID: "bftkit-local",
		pprof: o.pprof, viewTimeout: o.viewTimeout}, byz)
	if err != nil {
		return err
	}
	defer net.stop(stderr)
	if !o.json {
		fmt.Fprintf(stderr, "started %d %s validators in %s (logs: node<i>/node.log); HTTP API: %s; Ctrl-C stops\n",
			o.nodes, o.protocol, home, strings.Join(net.endpoints, " "))
	}
	readyCtx, ready := context.WithCancel(ctx)
	go func() {
		select {
		case <-o.interrupt: // Ctrl-C while starting: a normal stop
			ready()
		case <-readyCtx.Done():
		}
	}()
	err = net.waitReady(readyCtx, 60*time.Second)
	ready()
	if err != nil {
		if isClosed(o.interrupt) {
			return nil
		}
		return err
	}
	watchCtx, unwatch := context.WithCancel(ctx)
	defer unwatch()
	net.watch(watchCtx, stderr)
	sum, err := driveTestnet(ctx, o, net, stderr)
	unwatch()
	if err != nil {
		return err
	}
	if err := printTestnetSummary(stdout, sum, o.json); err != nil {
		return err
	}
	if !sum.Agree {
		return fmt.Errorf("the honest validators disagree at height %d: %v", sum.CommonHeight, sum.Dissent)
	}
	return nil
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
